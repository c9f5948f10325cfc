"""Items 2 and 3: state read back from the cache can never run code (snapshots are plain values, never
pickled), is trusted only under a key file that is really the user's, and a results cache that someone edited
(an emptied entry hiding an SL102) is ignored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemalint import signing
from schemalint.model.codec import CodecError, from_plain
from schemalint.model.schema import SchemaModel
from schemalint.snapshots import Snapshots


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_a_forged_snapshot_with_a_valid_signature_builds_nothing_but_records(tmp_path: Path, home: Path) -> None:
    key = signing.secret()
    assert key is not None
    # what pickle would have run: a record that names anything but the model's own classes is refused
    forged = {"format": 1, "model": {"__record": "system", "command": "touch /tmp/pwned"}}
    with pytest.raises(CodecError):
        from_plain(forged)
    store = Snapshots(tmp_path / "cache", "fp")
    path = store._path("k")
    path.parent.mkdir(parents=True)
    path.write_bytes(signing.signed(key, b"k", json.dumps(forged).encode()))
    assert store.load("k") is None
    store.save("k", SchemaModel())
    assert isinstance(store.load("k"), SchemaModel)


@pytest.mark.parametrize("spoil", ["empty", "short", "symlink", "readable", "directory"])
def test_a_key_file_that_is_not_really_ours_is_replaced(home: Path, tmp_path: Path, spoil: str) -> None:
    path = signing.key_file()
    path.parent.mkdir(parents=True)
    if spoil == "empty":
        path.write_bytes(b"")
    elif spoil == "short":
        path.write_bytes(b"x" * 8)
    elif spoil == "symlink":
        (tmp_path / "elsewhere").write_bytes(b"k" * 32)
        path.symlink_to(tmp_path / "elsewhere")
    elif spoil == "readable":
        path.write_bytes(b"k" * 32)
        path.chmod(0o644)
    else:
        path.mkdir()
    key = signing.secret()
    if spoil == "directory":
        assert key is None  # nowhere to keep a key: nothing is trusted or cached
        return
    assert key is not None and len(key) == 32 and key != b"k" * 32
    assert not path.is_symlink() and (path.stat().st_mode & 0o077) == 0


def _check(root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "schemalint", "check", "--format", "concise", "m"], cwd=root,
                          capture_output=True, text=True, check=False, env=env)


def test_an_edited_results_cache_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "001_a.sql").write_text("CREATE INDEX idx_a ON accounts (a);\n")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "home")}
    assert "SL102" in _check(tmp_path, env).stdout
    (results,) = (tmp_path / ".schemalint_cache").glob("results-*.json")
    data = results.read_bytes()
    document = json.loads(data[signing.DIGEST_BYTES:])
    for entry in document["files"].values():
        entry["findings"] = []  # hide the finding
    results.write_bytes(data[:signing.DIGEST_BYTES] + json.dumps(document).encode())
    assert "SL102" in _check(tmp_path, env).stdout  # the edit does not verify: linted again
