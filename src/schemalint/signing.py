"""What schemalint keeps on disk between runs (the result cache, schema-model snapshots) is signed with a
per-user key kept outside any repository (``~/.cache/schemalint/signing-key``, 0600): state read back that does
not verify — corrupt, truncated, edited, or planted by someone else — is ignored and rebuilt.

The key file is trusted only when it is a regular file (not a symlink), owned by the user, readable by nobody
else, and long enough; anything else (an empty file a killed run left behind, a link to /dev/null) is replaced,
atomically."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

KEY_BYTES = 32
DIGEST_BYTES = 32
_KEY_NAME = "signing-key"


def key_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "schemalint" / _KEY_NAME


def _trusted(path: Path) -> bytes | None:
    """The key, when the file is one this user made and nobody else can read or swap."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
            return None
        data = os.read(fd, KEY_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if len(data) == KEY_BYTES else None


def secret() -> bytes | None:
    """The per-user signing key, made (or remade, when the file is not trustworthy) on first use; None when it
    cannot be kept (then nothing is cached across runs)."""
    path = key_file()
    key = _trusted(path)
    if key is not None:
        return key
    temporary = path.with_name(f".{_KEY_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder = os.stat(path.parent, follow_symlinks=False)
        if not stat.S_ISDIR(folder.st_mode) or folder.st_uid != os.geteuid():
            return None  # a folder someone else controls: keep no key there
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
        os.replace(temporary, path)  # atomic: a concurrent run reads the old key or this one, never a torn file
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return None
    return _trusted(path)


def sign(key: bytes, label: bytes, payload: bytes) -> bytes:
    """The signature of ``payload`` under ``label`` (what it is: a cache name, a snapshot's key)."""
    return hmac.new(key, label + b"\0" + payload, hashlib.sha256).digest()


def signed(key: bytes, label: bytes, payload: bytes) -> bytes:
    return sign(key, label, payload) + payload


def verified(key: bytes, label: bytes, data: bytes) -> bytes | None:
    """The payload of ``signature + payload`` when the signature is ours for ``label``; else None."""
    signature, payload = data[:DIGEST_BYTES], data[DIGEST_BYTES:]
    if len(signature) != DIGEST_BYTES or not hmac.compare_digest(signature, sign(key, label, payload)):
        return None
    return payload
