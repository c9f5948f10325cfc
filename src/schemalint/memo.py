"""The whole-run memo: when nothing that decides a ``check`` run's result has changed — the files it read or looked
for (their size, mtime, inode; or that they are still absent), the folders it listed (their mtime: a file added,
removed or renamed changes it), the arguments, the working folder, the environment that shapes the output,
schemalint's own code — the stored output is written again, byte for byte, with the stored exit code, and nothing
else is imported or run.

This module is imported before anything else on every ``schemalint`` run, so it imports only the standard
library's small modules. Memos live in the per-user cache (``~/.cache/schemalint/runs``), one file per key,
signed with the per-user key like every other state schemalint reads back; one that does not verify is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, TextIO

FORMAT = 1
KEEP = 32  # memo files kept (the most recently written)
MAX_BYTES = 64 * 1024 * 1024  # a memo larger than this is neither written nor read

# Arguments that make a run depend on more than the files it reads (git history, standard input), change files,
# or write elsewhere: such runs are never memoised.
_NOT_MEMOISED = ("--no-cache", "--fix", "--unsafe-fixes", "--diff", "--since", "--watch", "--stdin-filename",
                 "--output-file", "-o", "-h", "--help", "--version")
_ENVIRONMENT = ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "TERM", "COLUMNS", "CI", "GITHUB_ACTIONS",
                "XDG_CACHE_HOME", "HOME", "SCHEMALINT_PG_BIN")


class Inputs:
    """What one run read: files (with the stat taken when they were read) and listed folders."""

    def __init__(self) -> None:
        self.files: dict[str, list[int] | None] = {}
        self.dirs: dict[str, int | None] = {}
        self.present: dict[str, bool] = {}  # paths whose existence alone matters (a repository's .git)
        self.unmemoisable = False  # it depends on more than files it can name (a framework's Python code)


_tracking: Inputs | None = None


def note_file(path: str | os.PathLike[str], info: os.stat_result | None = None) -> None:
    """A file the run reads (or looks for): its stat now, before it is read; absent files count too."""
    if _tracking is None:
        return
    full = os.path.abspath(path)
    if full not in _tracking.files:
        _tracking.files[full] = _file_state(full, info)


def note_dir(path: str | os.PathLike[str], info: os.stat_result | None = None) -> None:
    """A folder the run lists (or looks into for a file that may appear)."""
    if _tracking is None:
        return
    full = os.path.abspath(path)
    if full not in _tracking.dirs:
        _tracking.dirs[full] = _dir_state(full, info)


def depends_on_code() -> None:
    """The run depends on code it cannot list (a project's Python, imported by a framework's extractor): it is
    never replayed."""
    if _tracking is not None:
        _tracking.unmemoisable = True


def note_exists(path: str | os.PathLike[str]) -> None:
    """A path whose existence, not content, decides something (``.git`` marks a repository's top)."""
    if _tracking is None:
        return
    full = os.path.abspath(path)
    if full not in _tracking.present:
        _tracking.present[full] = os.path.lexists(full)


def _file_state(path: str, info: os.stat_result | None = None) -> list[int] | None:
    try:
        info = info or os.stat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns]


def _dir_state(path: str, info: os.stat_result | None = None) -> int | None:
    try:
        return (info or os.stat(path)).st_mtime_ns
    except OSError:
        return None


def memoisable(argv: list[str]) -> bool:
    """Only ``check`` runs that read their inputs from files and print their report."""
    if not argv or argv[0] != "check" or "-" in argv[1:]:
        return False
    return not any(a == flag or a.startswith(flag + "=") for a in argv[1:] for flag in _NOT_MEMOISED)


def _code_fingerprint() -> str:
    """schemalint's own files (size, mtime): an edited install never replays an older version's output."""
    package = os.path.dirname(os.path.abspath(__file__))
    parts = []
    for folder, subfolders, files in os.walk(package):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".md")):
                try:
                    info = os.stat(os.path.join(folder, name))
                except OSError:
                    continue
                parts.append(f"{os.path.relpath(os.path.join(folder, name), package)}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _key(argv: list[str]) -> str:
    from schemalint import __version__

    facts = {
        "format": FORMAT, "version": __version__, "code": _code_fingerprint(), "argv": argv, "cwd": os.getcwd(),
        "env": {name: os.environ.get(name) for name in _ENVIRONMENT},
        "tty": [_isatty(sys.stdout), _isatty(sys.stderr)],
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _folder() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "schemalint", "runs")


def replay(argv: list[str]) -> int | None:
    """Write a stored run's output and return its exit code, when every input is as it was; else None."""
    if not memoisable(argv):
        return None
    try:
        key = _key(argv)
        found = _load(os.path.join(_folder(), key))
    except (OSError, ValueError):
        return None
    if found is None:
        return None
    header, body = found
    if header.get("key") != key or not _unchanged(header):
        return None
    return write_answer(header, body)


def write_answer(header: dict[str, Any], body: bytes) -> int:
    """A run's stored answer (a memo's, or the daemon's): ``header["stdout"]`` bytes of ``body`` to stdout, the rest
    to stderr; its exit code."""
    out_length = int(header["stdout"])
    sys.stdout.flush()
    sys.stdout.buffer.write(body[:out_length])
    sys.stdout.flush()
    sys.stderr.buffer.write(body[out_length:])
    sys.stderr.flush()
    return int(header["code"])


def _unchanged(header: dict[str, Any]) -> bool:
    """Every folder and file as the run found them (files grouped by folder: [name, size, mtime, inode, ctime])."""
    dirs, files, present = header.get("dirs"), header.get("files"), header.get("present")
    if not isinstance(dirs, dict) or not isinstance(files, dict) or not isinstance(present, dict):
        return False
    if any(_dir_state(path) != state for path, state in dirs.items()):
        return False
    if any(os.path.lexists(path) != state for path, state in present.items()):
        return False
    for folder, entries in files.items():
        for name, *state in entries:
            if _file_state(os.path.join(folder, name)) != (state or None):
                return False
    return True


def _load(path: str) -> tuple[dict[str, Any], bytes] | None:
    """(header, output bytes) of a memo file: signature, 8-digit header length, JSON header, stdout, stderr."""
    from schemalint import signing

    secret = signing.secret()
    if secret is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        return None
    payload = signing.verified(secret, b"run-memo", data)
    if payload is None or len(payload) < 8 or not payload[:8].isdigit():
        return None
    length = int(payload[:8])
    header = json.loads(payload[8:8 + length])
    return (header, payload[8 + length:]) if isinstance(header, dict) else None


class _Tee:
    """A text stream that writes through and keeps a copy (of the text and of bytes written to its buffer)."""

    def __init__(self, stream: TextIO, copy: list[bytes]) -> None:
        self._stream = stream
        self._copy = copy
        self.buffer = _BufferTee(stream.buffer, copy) if hasattr(stream, "buffer") else None

    def write(self, text: str) -> int:
        self._copy.append(text.encode(self._stream.encoding or "utf-8", "replace"))
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _BufferTee:
    def __init__(self, buffer: Any, copy: list[bytes]) -> None:
        self._buffer = buffer
        self._copy = copy

    def write(self, data: bytes) -> int:
        self._copy.append(bytes(data))
        return int(self._buffer.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._buffer, name)


@contextmanager
def recording(argv: list[str]) -> Iterator[None]:
    """Run the real command, noting what it reads and keeping what it prints; store it when it ends with exit 0
    or 1 (an error is never replayed)."""
    global _tracking
    inputs = Inputs()
    out: list[bytes] = []
    err: list[bytes] = []
    saved = sys.stdout, sys.stderr
    key = _key(argv)
    _tracking = inputs
    sys.stdout, sys.stderr = _Tee(saved[0], out), _Tee(saved[1], err)
    code: object = 0
    try:
        yield
    except SystemExit as stop:
        code = stop.code if stop.code is not None else 0
        raise
    finally:
        sys.stdout, sys.stderr = saved
        _tracking = None
        if code in (0, 1) and not inputs.unmemoisable:
            _store(key, code, out, err, inputs)


def _store(key: str, code: object, out: list[bytes], err: list[bytes], inputs: Inputs) -> None:
    from schemalint import signing

    stdout, stderr = b"".join(out), b"".join(err)
    if len(stdout) + len(stderr) > MAX_BYTES // 2:
        return
    files: dict[str, list[list[Any]]] = {}
    for path, state in inputs.files.items():
        folder, name = os.path.split(path)
        files.setdefault(folder, []).append([name, *(state or [])])
    header = json.dumps({"key": key, "code": code, "dirs": inputs.dirs, "files": files, "present": inputs.present,
                         "stdout": len(stdout)},
                        separators=(",", ":")).encode()
    payload = f"{len(header):08d}".encode() + header + stdout + stderr
    secret = signing.secret()
    if secret is None:
        return
    folder = _folder()
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if os.stat(folder, follow_symlinks=False).st_uid != os.geteuid():
            return  # a folder someone else controls: keep nothing there
        temporary = os.path.join(folder, f".{key}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(signing.signed(secret, b"run-memo", payload))
        os.replace(temporary, os.path.join(folder, key))
        _prune(folder)
    except OSError:
        return


def _prune(folder: str) -> None:
    entries = []
    for entry in os.scandir(folder):
        if not entry.name.startswith(".") and entry.is_file(follow_symlinks=False):
            entries.append((entry.stat(follow_symlinks=False).st_mtime_ns, entry.path))
    for _, path in sorted(entries, reverse=True)[KEEP:]:
        with suppress(OSError):
            os.unlink(path)
