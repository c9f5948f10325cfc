"""The result cache: warm runs are byte-identical to cold ones; edits invalidate exactly what they should."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import quiet_config


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "schemalint", "check", *args], cwd=cwd,
                          capture_output=True, text=True, check=False, env={**os.environ, "NO_COLOR": "1"})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    quiet_config(tmp_path)
    m = tmp_path / "migrations"
    m.mkdir()
    (m / "1_create.sql").write_text("CREATE TABLE t (a int, b varchar(10));\nCREATE INDEX idx_t_a ON t (a);\n")
    (m / "2_alter.sql").write_text("ALTER TABLE t ALTER COLUMN b TYPE varchar(20);\nCREATE INDEX idx_t_b ON t (b);\n")
    (m / "3_more.sql").write_text("ALTER TABLE t DROP COLUMN a;\n")
    return tmp_path


@pytest.mark.parametrize("fmt", ["json", "text", "sarif", "concise", "github"])
def test_warm_run_is_byte_identical_to_cold(project: Path, fmt: str) -> None:
    cold = run(project, "--format", fmt, "--no-cache", "migrations")
    first = run(project, "--format", fmt, "migrations")  # fills the cache
    warm = run(project, "--format", fmt, "migrations")
    assert (project / ".schemalint_cache").is_dir()
    assert cold.stdout == first.stdout == warm.stdout
    assert cold.returncode == warm.returncode == 1


def test_an_edit_relints_that_file_and_every_later_one(project: Path) -> None:
    run(project, "--format", "json", "migrations")
    # an earlier file changes a type: the later file's finding must change although its text did not
    (project / "migrations" / "1_create.sql").write_text("CREATE TABLE t (a int, b varchar(50));\n")
    edited = run(project, "--format", "concise", "migrations")
    fresh = run(project, "--format", "concise", "--no-cache", "migrations")
    assert edited.stdout == fresh.stdout
    assert "2_alter.sql:1:1: SL204" in edited.stdout  # varchar(50) → varchar(20) narrows now


def test_config_change_invalidates(project: Path) -> None:
    run(project, "--format", "concise", "migrations")
    (project / "schemalint.toml").write_text('ignore = ["SL01", "SL3", "SL4", "SL102"]\n[locks]\nrunner-sets-lock-timeout = true\n')
    out = run(project, "--format", "concise", "migrations").stdout
    assert "SL102" not in out and "SL201" in out


def test_corrupt_cache_is_ignored_and_rewritten(project: Path) -> None:
    good = run(project, "--format", "json", "migrations").stdout
    for cache_file in (project / ".schemalint_cache").glob("results-*.json"):
        cache_file.write_text("{not json")
    assert run(project, "--format", "json", "migrations").stdout == good
    assert run(project, "--format", "json", "migrations").stdout == good


def test_concurrent_runs_never_corrupt_the_cache(project: Path) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: run(project, "--format", "json", "migrations"), range(12)))
    outputs = {r.stdout for r in results}
    assert len(outputs) == 1
    assert run(project, "--format", "json", "migrations").stdout in outputs
    assert not list((project / ".schemalint_cache").glob(".results-*.tmp"))


def test_cache_dir_option_and_no_cache(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "cachehere"
    run(project, "--cache-dir", str(elsewhere), "migrations")
    assert any(elsewhere.glob("results-*.json"))
    assert not (project / ".schemalint_cache").exists()
    run(project, "--no-cache", "migrations")
    assert not (project / ".schemalint_cache").exists()


def test_parallel_parse_gives_the_same_report(project: Path) -> None:
    serial = run(project, "--format", "json", "--no-cache", "migrations")
    parallel = run(project, "--format", "json", "--no-cache", "--jobs", "2", "migrations")
    assert parallel.stdout == serial.stdout and parallel.returncode == serial.returncode


def test_editing_schemalint_itself_invalidates_the_cache(project: Path) -> None:
    import schemalint.cache as cache_module

    first = cache_module._code_fingerprint()
    target = Path(cache_module.__file__).parent / "rules" / "indexes.py"
    stat = target.stat()
    try:
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert cache_module._code_fingerprint() != first
    finally:
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
