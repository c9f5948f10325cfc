"""`baseline`: a schema dump read first as history. Tested with a real `pg_dump --schema-only` of a schema
built from the fixtures on a throwaway cluster, replayed by `check` and by `verify`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from schemalint.verify.sandbox import sandbox
from schemalint.verify.server import find_bindir
from tests.conftest import REPO

EXTRA_SCHEMA = """
CREATE TABLE notes (id serial PRIMARY KEY, account_id uuid REFERENCES accounts (account_id), body varchar(50));
CREATE FUNCTION note_weight() RETURNS integer LANGUAGE sql STABLE AS $$ SELECT 1 $$;
CREATE FUNCTION random_weight() RETURNS integer LANGUAGE sql VOLATILE AS $$ SELECT (random() * 10)::int $$;
CREATE VIEW account_names AS SELECT account_id, account_name FROM accounts;
"""

MIGRATION = """SET lock_timeout = '5s';
ALTER TABLE notes ALTER COLUMN body TYPE varchar(200);
ALTER TABLE accounts ADD COLUMN weight integer DEFAULT note_weight();
ALTER TABLE notes ADD COLUMN weight integer DEFAULT random_weight();
CREATE INDEX idx_notes_body ON notes (body);
"""


def _config(root: Path, baseline: str) -> None:
    (root / "schemalint.toml").write_text(f'baseline = "{baseline}"\nignore = ["SL01", "SL3", "SL4"]\n')


@pytest.fixture(scope="module")
def dumped_schema(pg_server: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """pg_dump --schema-only --no-owner --no-privileges of the fixtures' first migration plus a few more objects."""
    fixture = (REPO / "fixtures" / "migrations" / "20241001_090000_create_core_tables.sql").read_text()
    with sandbox(pg_server) as box:
        with psycopg.connect(**box.migrator, autocommit=True) as conn:
            conn.execute(fixture)
            conn.execute(EXTRA_SCHEMA)
        info = box.monitor
        out = subprocess.run(
            [str(find_bindir() / "pg_dump"), "--schema-only", "--no-owner", "--no-privileges", "-h", info["host"],
             "-p", str(info["port"]), "-U", info["user"], "-d", box.database],
            capture_output=True, text=True, check=True, env={**os.environ, "PGPASSWORD": info["password"]})
    dump = out.stdout
    assert "SELECT pg_catalog.set_config('search_path', '', false);" in dump
    assert "ALTER TABLE ONLY public.accounts" in dump and "CREATE POLICY" in dump and "OWNED BY" in dump
    return dump


def _check(root: Path) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run([sys.executable, "-m", "schemalint", "check", "migrations", "--no-cache", "--format",
                           "json"], cwd=root, capture_output=True, text=True, check=False, timeout=120)
    return proc.returncode, json.loads(proc.stdout)


@pytest.mark.slow
def test_pg_dump_baseline_is_the_history(tmp_path: Path, dumped_schema: str) -> None:
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "schema.sql").write_text(dumped_schema)
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "20250101_000000_notes.sql").write_text(MIGRATION)
    _config(tmp_path, "db/schema.sql")
    code, payload = _check(tmp_path)
    got = [(f["code"], f["line"]) for f in payload["findings"]]
    # varchar(50) → varchar(200) is a known widening; note_weight() is STABLE, random_weight() VOLATILE (from
    # the dump); notes is an existing table: the index build blocks writes. Nothing on the dump itself.
    assert got == [("SL110", 4), ("SL102", 5)], payload["findings"]
    assert "incomplete" not in payload["summary"] and payload["summary"]["files"] == 1
    assert code == 1
    # without the baseline the history is unknown: the widening is reported (old type unknown)
    (tmp_path / "schemalint.toml").write_text('ignore = ["SL01", "SL3", "SL4"]\n')
    _code, without = _check(tmp_path)
    assert ("SL204", 2) in [(f["code"], f["line"]) for f in without["findings"]]


@pytest.mark.slow
def test_verify_replays_the_baseline(tmp_path: Path, dumped_schema: str, pg_server: Any) -> None:
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "schema.sql").write_text(dumped_schema)
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "20250101_000000_notes.sql").write_text(MIGRATION)
    _config(tmp_path, "db/schema.sql")
    proc = subprocess.run([sys.executable, "-m", "schemalint", "verify", "migrations", "--format", "json"],
                          cwd=tmp_path, capture_output=True, text=True, check=False, timeout=300)
    payload = json.loads(proc.stdout)
    codes = [(f["code"], f["line"]) for f in payload["findings"]]
    assert not [c for c in codes if c[0] == "SL501"], payload
    assert ("SL502", 4) in codes  # the volatile default really rewrites notes
    assert "incomplete" not in payload["summary"], payload["summary"]


def test_baseline_syntax_error_is_one_line_not_a_finding(tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text("CREATE TABLE accounts (id int,);\nCREATE TABLE notes (id int);\n")
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "1.sql").write_text("SET lock_timeout = '1s';\nCREATE INDEX idx_n ON notes (id);\n")
    _config(tmp_path, "schema.sql")
    code, payload = _check(tmp_path)
    assert [f["code"] for f in payload["findings"]] == ["SL102"]  # notes comes from the baseline: existing
    (note,) = payload["summary"]["incomplete"]
    assert note.startswith("schema.sql (baseline): syntax error at or near \")\" at line 1")
    assert code == 1


def test_missing_baseline_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "1.sql").write_text("SELECT 1;\n")
    _config(tmp_path, "db/nowhere.sql")
    proc = subprocess.run([sys.executable, "-m", "schemalint", "check", "migrations"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "baseline db/nowhere.sql: no such file" in proc.stderr
    assert proc.stderr.count("\n") == 1
