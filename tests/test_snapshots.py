"""Schema-model snapshots: a run restored from them gives byte-identical output to a cold run — on the whole
corpus, and after editing, inserting, deleting and renaming a file in the middle of the order, and after a
config change; a snapshot that is not ours is never read."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from schemalint.model.objects import Table
from schemalint.model.schema import SchemaModel
from schemalint.snapshots import Snapshots
from tests.conftest import CORPUS


def check(root: Path, *extra: str) -> bytes:
    proc = subprocess.run([sys.executable, "-m", "schemalint", "check", "--format", "json", "--select", "ALL",
                           *extra, "corpus"], cwd=root, capture_output=True, check=False,
                          env={**os.environ, "XDG_CACHE_HOME": str(root / "home-cache")})
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout


@pytest.mark.slow
def test_restored_runs_are_byte_identical_to_cold_runs(tmp_path: Path) -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not there")
    shutil.copytree(CORPUS / "LemmyNet__lemmy", tmp_path / "corpus")
    files = sorted((tmp_path / "corpus").rglob("up.sql"))
    middle = files[len(files) // 2]

    def same() -> None:
        warm = check(tmp_path)
        assert warm == check(tmp_path, "--no-cache")

    same()  # first run fills cache and snapshots
    assert list((tmp_path / ".schemalint_cache").glob("snapshots-*/*.json"))
    same()  # warm
    middle.write_text(middle.read_text() + "\nALTER TABLE person ADD COLUMN snapshot_probe int;\n")
    same()  # edited
    inserted = middle.parent.parent / (middle.parent.name[:10] + "-999999_inserted") / "up.sql"
    inserted.parent.mkdir()
    inserted.write_text("CREATE INDEX idx_inserted ON person (name);\n")
    same()  # inserted
    shutil.rmtree(files[len(files) // 3].parent)
    same()  # deleted
    moved = files[len(files) // 4].parent
    moved.rename(moved.with_name(moved.name + "_renamed"))
    same()  # renamed
    (tmp_path / "schemalint.toml").write_text("target-postgres = 11\n[conventions]\nindex-pattern = '^ix_'\n")
    same()  # config changed


def test_a_snapshot_that_is_not_signed_by_us_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    store = Snapshots(tmp_path / "cache", "fp")
    model = SchemaModel()
    model.tables[("public", "t")] = Table(("public", "t"))
    store.save("key", model)
    restored = store.load("key")
    assert restored is not None and ("public", "t") in restored.tables
    assert store.load("other key") is None
    path = next((tmp_path / "cache").rglob("*.json"))
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    assert store.load("key") is None  # tampered: never read
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "someone-else"))
    Snapshots(tmp_path / "cache", "fp").save("key", model)
    assert Snapshots(tmp_path / "cache", "fp").load("key") is not None
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    assert Snapshots(tmp_path / "cache", "fp").load("key") is None  # signed with another user's key


def test_pruned_settings_variants_take_their_snapshots_along(tmp_path: Path) -> None:
    from schemalint.cache import ResultCache

    for number in range(6):
        (tmp_path / f"results-v{number}.json").write_text("{}")
        os.utime(tmp_path / f"results-v{number}.json", (1_000_000 + number, 1_000_000 + number))
        (tmp_path / f"snapshots-v{number}").mkdir()
        (tmp_path / f"snapshots-v{number}" / "x.json").write_bytes(b"x")
    cache = ResultCache(tmp_path, "v5")
    cache.prune(keep=2)
    assert sorted(p.name for p in tmp_path.glob("results-*")) == ["results-v4.json", "results-v5.json"]
    assert sorted(p.name for p in tmp_path.glob("snapshots-*")) == ["snapshots-v4", "snapshots-v5"]
