"""Schema-model snapshots in the cache: the model as it stands after a file, so an incremental run restores
it instead of parsing and replaying every earlier migration again.

A snapshot is keyed by the cache's hash chain (the file, every file before it, the settings, the version and
the rules' code), so one from another version, another config or another history is simply never found. It
is a pickle signed with HMAC-SHA256 under a per-user key kept outside the repository (``~/.cache/schemalint``):
a snapshot that does not verify — corrupt, truncated, or committed into a repository by someone else — is
ignored and rebuilt, never unpickled."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import pickle
import secrets
from pathlib import Path

from schemalint.atomic import write_atomically
from schemalint.model.schema import SchemaModel

EVERY = 128  # a snapshot after every 128th file and the last (13 on the corpus): a restore replays at most 127
KEEP = 40  # snapshot files kept per settings variant (the oldest are pruned): at most ~20 MB on the corpus
_DIGEST = 32


def _key_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "schemalint" / "snapshot-key"


def _secret() -> bytes | None:
    """The per-user signing key, made on first use (0600); None when it cannot be kept (no snapshots)."""
    path = _key_file()
    with contextlib.suppress(OSError):
        data = path.read_bytes()
        if len(data) >= 32:
            return data
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fresh = secrets.token_bytes(32)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(fresh)
        return fresh
    except FileExistsError:
        with contextlib.suppress(OSError):
            return path.read_bytes()
    except OSError:
        pass
    return None


class Snapshots:
    def __init__(self, directory: Path, fingerprint: str) -> None:
        self.directory = directory / f"snapshots-{fingerprint}"
        self._secret = _secret()

    def _path(self, key: str) -> Path:
        return self.directory / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.model"

    def has(self, key: str) -> bool:
        return self._secret is not None and self._path(key).is_file()

    def load(self, key: str) -> SchemaModel | None:
        if self._secret is None:
            return None
        try:
            data = self._path(key).read_bytes()
        except OSError:
            return None
        signature, payload = data[:_DIGEST], data[_DIGEST:]
        expected = hmac.new(self._secret, key.encode() + b"\0" + payload, hashlib.sha256).digest()
        if len(signature) != _DIGEST or not hmac.compare_digest(signature, expected):
            return None  # not ours (or damaged): never unpickled
        try:
            model = pickle.loads(payload)
        except Exception:
            return None
        return model if isinstance(model, SchemaModel) else None

    def save(self, key: str, model: SchemaModel) -> None:
        if self._secret is None:
            return
        try:
            payload = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
            signature = hmac.new(self._secret, key.encode() + b"\0" + payload, hashlib.sha256).digest()
            self.directory.mkdir(parents=True, exist_ok=True)
            write_atomically(self._path(key), signature + payload)
        except (OSError, pickle.PicklingError, RecursionError):
            return  # a snapshot that cannot be written only costs the next run a replay

    def prune(self, keep: int = KEEP) -> None:
        with contextlib.suppress(OSError):
            files = sorted(self.directory.glob("*.model"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in files[keep:]:
                with contextlib.suppress(OSError):
                    old.unlink()


def checkpoint(index: int, total: int) -> bool:
    """After which files a snapshot is written."""
    return (index + 1) % EVERY == 0 or index == total - 1
