"""First contact: small real-shaped repositories (tests/first_contact/<layout>/), each checked the way a new user
would, with no config: the runner named with its evidence (or honestly unknown), tenancy only where the schema is
multi-tenant, other databases' files skipped, and only safety findings."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

LAYOUTS = REPO / "tests" / "first_contact"
UNKNOWN = "unknown — each statement judged as run on its own; set runner = \"…\" if yours wraps files in a transaction"

# layout → (runner line, tenancy line, notes, findings per code)
EXPECTED: dict[str, tuple[str, str | None, list[str], dict[str, int]]] = {
    "plain": (UNKNOWN, None, [], {"SL101": 1, "SL102": 1, "SL114": 1}),
    "multitenant": (UNKNOWN, "on (detected from accounts.tenant_id)", [], {"SL114": 1, "SL301": 1, "SL302": 1}),
    "popx": ("popx (detected from <version>_<name>.<dialect>.up.sql file names)", None,
             ["skipped 9 files for other databases (cockroach, mysql, sqlite3)"], {"SL102": 1, "SL114": 2}),
    "drizzle": ("drizzle (detected from meta/_journal.json beside the migrations)", None, [],
                {"SL102": 1, "SL114": 1, "SL115": 1}),
    "prisma": ("prisma (detected from migration_lock.toml beside timestamped migration.sql folders)", None, [],
               {"SL101": 1, "SL102": 1, "SL114": 1, "SL115": 1}),
    "golang-migrate": ("golang-migrate (detected from go.mod: github.com/golang-migrate/migrate)", None, [],
                       {"SL102": 1, "SL114": 1, "SL115": 1}),
    "goose": ("goose (detected from -- +goose markers)", None, [], {"SL101": 1, "SL114": 1}),
    "flyway": ("flyway (detected from pom.xml: flyway)", None, [], {"SL114": 1, "SL204": 1}),
    "sqlx": ("sqlx (detected from Cargo.toml: sqlx)", None, [], {"SL114": 1}),
    "diesel": ("diesel (detected from <version>_name/up.sql folders with diesel.toml or metadata.toml)", None, [],
               {"SL102": 1, "SL114": 1, "SL115": 1}),
    "dbmate": ("dbmate (detected from -- migrate:up markers)", None, [], {"SL114": 1, "SL202": 1}),
}


def check(folder: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run([sys.executable, "-m", "schemalint", "check", ".", "--no-cache", *args], cwd=folder,
                          capture_output=True, text=True, check=False, timeout=120)
    payload = json.loads(proc.stdout) if "json" in args else {}
    return proc.returncode, payload, proc.stdout + proc.stderr


@pytest.fixture
def copy_of(tmp_path: Path) -> Any:
    """A layout copied outside this repository, as a user's own project (its own root, no config)."""
    def copy(layout: str) -> Path:
        target = tmp_path / layout
        shutil.copytree(LAYOUTS / layout, target)
        return target
    return copy


def test_every_layout_has_its_expectation() -> None:
    assert sorted(p.name for p in LAYOUTS.iterdir() if p.is_dir()) == sorted(EXPECTED)


@pytest.mark.parametrize("layout", sorted(EXPECTED))
def test_first_run_on_a_real_shaped_repository(layout: str, copy_of: Any) -> None:
    runner, tenancy, notes, counts = EXPECTED[layout]
    folder = copy_of(layout)
    code, payload, _ = check(folder, "--format", "json")
    summary = payload["summary"]
    assert summary["runner"] == runner
    assert summary.get("tenancy") == tenancy
    assert summary.get("notes", []) == notes
    assert dict(Counter(f["code"] for f in payload["findings"])) == counts, payload["findings"]
    # only safety findings by default: no house conventions (file name, header, rollback, naming, audit columns)
    assert not [f for f in payload["findings"] if f["code"] in ("SL010", "SL011", "SL012") or f["code"] >= "SL401"]
    assert code == (1 if any(f["severity"] == "error" for f in payload["findings"]) else 0)
    _, _, text = check(folder)
    assert f"runner: {runner}" in text
    assert (f"tenancy: {tenancy}" in text) == (tenancy is not None)


def test_the_guide_preset_adds_the_house_conventions(copy_of: Any) -> None:
    folder = copy_of("plain")
    _, payload, _ = check(folder, "--format", "json", "--preset", "guide")
    codes = {f["code"] for f in payload["findings"]}
    assert {"SL010", "SL011", "SL012", "SL301", "SL403", "SL407"} <= codes
    assert payload["summary"]["tenancy"] == "on (preset guide)"
    (folder / "schemalint.toml").write_text('preset = "guide"\ntenancy = false\n')
    _, payload, _ = check(folder, "--format", "json")
    assert "SL010" in {f["code"] for f in payload["findings"]}
    assert not [f for f in payload["findings"] if f["code"].startswith("SL30")]


def test_other_databases_files_are_never_fixed(copy_of: Any) -> None:
    folder = copy_of("popx")
    migrations = folder / "persistence" / "sql" / "migrations"
    before = {p.name: p.read_bytes() for p in migrations.iterdir()}
    (folder / "schemalint.toml").write_text('runner = "psql"\n')  # every fix applies outside a transaction
    _code, _, output = check(folder, "--fix", "--unsafe-fixes")
    after = {p.name: p.read_bytes() for p in migrations.iterdir()}
    changed = sorted(name for name in before if before[name] != after[name])
    assert changed == ["20240102000000000000_identities_nid_idx.postgres.up.sql"], output
    assert not [name for name in changed if ".postgres." not in name]


def test_a_file_with_a_syntax_error_is_never_fixed(tmp_path: Path) -> None:
    (tmp_path / "001_a.sql").write_text("CREATE INDEX idx_a ON accounts (a);\nCREATE TABLE `t` (id int);\n")
    before = (tmp_path / "001_a.sql").read_text()
    _code, _, output = check(tmp_path, "--fix")
    assert (tmp_path / "001_a.sql").read_text() == before
    assert "not fixed: it does not parse as PostgreSQL (SL001 at line 2)" in output
