"""Writing a file so that no reader ever sees it empty or half-written: a temporary file in the same
folder, then one rename over the target (the report file, the cache, a fixed migration)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_atomically(path: Path, data: bytes | Iterable[bytes], keep_mode_of: Path | None = None) -> None:
    """Replace ``path`` with ``data`` (bytes, or pieces written as they come) in one rename. OSError (a
    read-only folder, a full disk) leaves ``path`` as it was."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(data, bytes):
                handle.write(data)
            else:
                handle.writelines(data)
        if keep_mode_of is not None:
            os.chmod(tmp, keep_mode_of.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
