"""Schema-model snapshots in the cache: the model as it stands after a file, so an incremental run restores
it instead of parsing and replaying every earlier migration again.

A snapshot is keyed by the cache's hash chain (the file, every file before it, the settings, the version and
the rules' code), so one from another version, another config or another history is simply never found. It is
the model as plain JSON values (model/codec.py: reading it back can only build the model's own records), signed
with the per-user key (signing.py): a snapshot that does not verify — corrupt, truncated, or committed into a
repository by someone else — is ignored and rebuilt."""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

import orjson

from schemalint import signing
from schemalint.atomic import write_atomically
from schemalint.model.codec import CodecError, from_plain, to_plain
from schemalint.model.schema import SchemaModel

EVERY = 128  # a snapshot after every 128th file and the last (13 on the corpus): a restore replays at most 127
KEEP = 40  # snapshot files kept per settings variant (the oldest are pruned): at most ~20 MB on the corpus


class Snapshots:
    def __init__(self, directory: Path, fingerprint: str) -> None:
        self.directory = directory / f"snapshots-{fingerprint}"
        self._secret = signing.secret()

    def _path(self, key: str) -> Path:
        return self.directory / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"

    def has(self, key: str) -> bool:
        return self._secret is not None and self._path(key).is_file()

    def load(self, key: str) -> SchemaModel | None:
        if self._secret is None:
            return None
        try:
            data = self._path(key).read_bytes()
        except OSError:
            return None
        payload = signing.verified(self._secret, key.encode(), data)
        if payload is None:
            return None  # not ours (or damaged): never read
        try:
            return from_plain(_loads(payload))
        except (CodecError, ValueError, TypeError, RecursionError):
            return None

    def save(self, key: str, model: SchemaModel) -> None:
        if self._secret is None:
            return
        try:
            payload = _dumps(to_plain(model))
            self.directory.mkdir(parents=True, exist_ok=True)
            write_atomically(self._path(key), signing.signed(self._secret, key.encode(), payload))
        except (OSError, CodecError, TypeError, ValueError, RecursionError):
            return  # a snapshot that cannot be written only costs the next run a replay

    def prune(self, keep: int = KEEP) -> None:
        with contextlib.suppress(OSError):
            files = sorted(self.directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in files[keep:]:
                with contextlib.suppress(OSError):
                    old.unlink()


def _dumps(value: object) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:  # deeper than orjson goes: the json module has no such limit
        return json.dumps(value, separators=(",", ":")).encode()


def _loads(data: bytes) -> object:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def checkpoint(index: int, total: int) -> bool:
    """After which files a snapshot is written."""
    return (index + 1) % EVERY == 0 or index == total - 1
