"""Shared helpers: lint SQL held in memory through the real engine."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from schemalint.config import Settings, settings_from_table
from schemalint.engine import Engine, RunResult, prepare
from schemalint.findings import Finding
from schemalint.run import enabled_codes
from schemalint.sources import runners
from schemalint.sources.files import AtRef, SourceFile, order

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"


# Core tests look at the lock and compatibility families; the file-structure (SL010-SL012), tenancy
# (SL3xx) and convention (SL4xx) rules have their own tests and would only add noise there.
CORE_IGNORE = ["SL01", "SL3", "SL4"]
QUIET_TIMEOUTS = 'ignore = ["SL01", "SL3", "SL4"]\n[locks]\nrunner-sets-lock-timeout = true\n'


def quiet_config(directory: Path) -> None:
    """A schemalint.toml that satisfies SL114, so tests about other rules see only those."""
    (directory / "schemalint.toml").write_text(QUIET_TIMEOUTS, encoding="utf-8")


def check_folder(folder: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    """``schemalint check --no-cache --format json . ARGS`` run in ``folder``: (exit code, JSON report or {}, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "schemalint", "check", "--no-cache", "--format", "json", ".", *args],
                          cwd=folder, capture_output=True, text=True, check=False, timeout=300)
    payload = json.loads(proc.stdout) if proc.stdout.startswith("{") else {}
    return proc.returncode, payload, proc.stderr


def make_settings(
    table: Mapping[str, Any] | None = None, quiet_timeouts: bool = True, core_only: bool = True
) -> Settings:
    table = dict(table or {})
    if core_only and "ignore" not in table and "select" not in table:
        table["ignore"] = list(CORE_IGNORE)
    if quiet_timeouts and "locks" not in table:
        table["locks"] = {"runner-sets-lock-timeout": True}
    settings = settings_from_table(table, "<test>")
    if settings.select is None:
        settings.select = ["ALL"]
    return settings


def lint_files(
    files: Mapping[str, str | bytes],
    settings: Mapping[str, Any] | None = None,
    quiet_timeouts: bool = True,
    core_only: bool = True,
    at_ref: Mapping[str, AtRef] | None = None,
    baseline: str | None = None,
) -> RunResult:
    """Lint several in-memory files in migration order, as one run (SL114 satisfied unless asked); ``at_ref``:
    what git knew of some of them at the ``--since`` ref; ``baseline``: a schema dump read first, as the
    ``baseline`` setting reads one."""
    conf = make_settings(settings, quiet_timeouts, core_only)
    sources = []
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        known = (at_ref or {}).get(name)
        sources.append(SourceFile(name, Path("/nonexistent-schemalint-test") / name, data=data, at_ref=known))
    ordered = order(sources)
    if baseline is not None:
        ordered.insert(0, SourceFile("schema.sql", Path("/nonexistent-schemalint-test/schema.sql"),
                                     data=baseline.encode("utf-8"), judged=False, baseline=True))
    engine = Engine(conf, enabled_codes(conf))
    engine.runner = runners.assign(conf.runner, conf.assume_in_transaction, ordered,
                                   flyway_mixed=conf.option("flyway", "mixed")).runner
    return engine.run(prepare(s) for s in ordered)


def lint(
    sql: str,
    settings: Mapping[str, Any] | None = None,
    name: str = "migration.sql",
    quiet_timeouts: bool = True,
    core_only: bool = True,
) -> list[Finding]:
    result = lint_files({name: sql}, settings, quiet_timeouts, core_only)
    assert not result.internal_errors, result.internal_errors
    return result.findings


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that needs a PostgreSQL server carries the ``postgres`` marker (``-m "not postgres"`` selects
    the rest; nothing is skipped for it)."""
    for item in items:
        if "pg_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present")
    return CORPUS


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    from tests.postgres import server_or_skip

    yield from server_or_skip()
