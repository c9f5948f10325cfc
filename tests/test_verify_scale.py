"""verify at production scale, on a real throwaway cluster: synthetic rows (--rows, --rows-from), the
concurrent probe (SL507), the per-statement trace (JSON schema, markdown), the Estimated Duration check
(SL508), pgserver as the embedded server, and nothing left behind after a normal exit, a failure or Ctrl-C
during filling and probing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from jsonschema import validate

from schemalint.verify import server as pg
from tests.test_verify import _clusters, found, project, shared_tmp, verify  # noqa: F401  (fixture)

BASE = """
CREATE TYPE mood AS ENUM ('ok', 'great');
CREATE TABLE tenant_metadata (tenant_id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE accounts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id integer NOT NULL REFERENCES tenant_metadata (tenant_id),
    email varchar(100) NOT NULL UNIQUE, score numeric(5,2), feeling mood NOT NULL, n int,
    created_at timestamptz NOT NULL DEFAULT now(), payload jsonb, code char(3), tags text[], ref uuid UNIQUE
);
CREATE TABLE notes (id serial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts (id), body text NOT NULL,
    day date NOT NULL, flag boolean NOT NULL, amount double precision);
CREATE TABLE odd (id int PRIMARY KEY, n int NOT NULL CHECK (n < 0 AND n > 0));
"""
QUIET = ('[locks]\nrunner-sets-lock-timeout = true\n[verify]\nblocked-threshold = "5ms"\n'
         'blocked-threshold-reads = "5ms"\ntenants = 7\n')
CHANGE = """SET lock_timeout = '5s';
CREATE INDEX idx_accounts_score ON accounts (score);
CREATE INDEX CONCURRENTLY idx_accounts_n ON accounts (n);
ALTER TABLE accounts ADD COLUMN seen_at timestamptz DEFAULT now();
ALTER TABLE notes ALTER COLUMN id TYPE bigint;
SELECT count(*) FROM odd;
"""


def scale_project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = project(tmp_path, files)
    (root / "schemalint.toml").write_text(QUIET)
    return root


def by_line(payload: dict[str, Any], file: str) -> dict[int, dict[str, Any]]:
    return {t["line"]: t for t in payload["trace"] if t["file"].endswith(file)}


@pytest.mark.slow
def test_rows_and_probe_measure_what_the_application_would_wait_for(tmp_path: Path, pg_server: Any) -> None:
    root = scale_project(tmp_path, {"20240101_000000_base.sql": BASE, "20240201_000000_change.sql": CHANGE})
    # any wait of a write is reported: how long a 20,000-row index build takes depends on the machine
    (root / "schemalint.toml").write_text(QUIET.replace('blocked-threshold = "5ms"', 'blocked-threshold = "0ms"'))
    code, payload, stderr = verify(root, "migrations", "--rows", "20000", "--probe", "--dsn", pg_server.dsn)
    assert code == 1, stderr
    trace = by_line(payload, "change.sql")
    # the trace is what the package's schema says it is
    schema = json.loads((Path(pg.__file__).parent / "trace.schema.json").read_text())
    validate(payload["trace"], schema)
    # every touched table was filled (FKs from the referenced rows, 7 tenants), the impossible CHECK reported
    assert trace[2]["rows_before"] == {"public.accounts": 20000}
    incomplete = " ".join(payload["summary"]["incomplete"])
    assert "public.odd: left empty" in incomplete and "check constraint" in incomplete
    assert "public.accounts" not in incomplete and "public.notes" not in incomplete
    # CREATE INDEX: writes wait for the whole build, reads do not
    index = trace[2]
    assert index["locks"][0] == {"relation": "public.accounts", "mode": "SHARE"}
    assert index["blocked"]["write_ms"] > 0 and index["blocked"]["read_ms"] == 0
    sl507 = [f for f in payload["findings"] if f["code"] == "SL507"]
    assert sl507 and sl507[0]["line"] == 2
    assert "on 20,000 rows, INSERTs into public.accounts waited" in sl507[0]["message"]
    assert "SELECTs were not blocked" in sl507[0]["message"]
    # CONCURRENTLY: nothing blocked
    assert trace[3].get("blocked", {"write_ms": 0})["write_ms"] == 0
    assert not [f for f in sl507 if f["line"] == 3]
    # ADD COLUMN … DEFAULT now(): only the brief ACCESS EXCLUSIVE lock, never longer than the statement
    brief = trace[4]
    assert brief["locks"][0]["mode"] == "ACCESS EXCLUSIVE" and not brief["rewrites"]
    assert brief.get("blocked", {"read_ms": 0})["read_ms"] <= brief["ms"]
    # int → bigint: a rewrite, reads and writes both blocked
    retype = trace[5]
    assert retype["rewrites"] and retype["blocked"]["read_ms"] > 0 and retype["blocked"]["write_ms"] > 0
    # rows are made once per table per run: the later file sees what the earlier one left
    assert ("20240201_000000_change.sql", "SL507", 5) in found(payload)


@pytest.mark.slow
def test_filled_rows_honour_types_uniques_foreign_keys_and_tenants(tmp_path: Path, pg_server: Any) -> None:
    import psycopg

    root = scale_project(tmp_path, {"20240101_000000_base.sql": BASE,
                                    "20240201_000000_look.sql": "SELECT 1 FROM notes, accounts LIMIT 1;\n"})
    with psycopg.connect(pg_server.dsn, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS staging")
        admin.execute("CREATE DATABASE staging")
    staging = pg_server.dsn.replace("dbname=postgres", "dbname=staging")
    with psycopg.connect(staging, autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (id int); INSERT INTO notes SELECT g FROM generate_series(1, 3000) g; "
                     "ANALYZE notes")
    code, payload, stderr = verify(root, "migrations", "--rows", "500", "--rows-from", staging, "--dsn",
                                   pg_server.dsn, "--format", "json")
    assert code in (0, 1), stderr
    assert "incomplete" not in payload["summary"], payload["summary"]  # every touched table could be filled
    # what was generated is checked on the server by a tiny migration that fails when a property does not hold
    checks = """
    DO $$ BEGIN
      IF (SELECT count(*) FROM tenant_metadata) <> 7 THEN RAISE EXCEPTION 'tenants'; END IF;
      IF (SELECT count(DISTINCT tenant_id) FROM accounts) <> 7 THEN RAISE EXCEPTION 'tenant ids'; END IF;
      IF (SELECT count(*) FROM accounts) <> 500 THEN RAISE EXCEPTION 'rows'; END IF;
      IF (SELECT count(*) FROM notes) <> 3000 THEN RAISE EXCEPTION 'rows from staging'; END IF;
      IF (SELECT count(DISTINCT email) FROM accounts) <> 500 THEN RAISE EXCEPTION 'unique'; END IF;
      IF EXISTS (SELECT 1 FROM notes n LEFT JOIN accounts a ON a.id = n.account_id WHERE a.id IS NULL)
        THEN RAISE EXCEPTION 'foreign key'; END IF;
    END $$;
    """
    (root / "migrations" / "20240301_000000_check.sql").write_text(checks)
    code, payload, stderr = verify(root, "migrations", "--rows", "500", "--rows-from", staging, "--dsn",
                                   pg_server.dsn, "--select", "SL501")
    assert not [f for f in payload["findings"] if f["code"] == "SL501"], payload["findings"]


@pytest.mark.slow
def test_estimated_duration_is_checked_at_production_scale(tmp_path: Path, pg_server: Any) -> None:
    header = ("-- =====\n-- MIGRATION: index\n-- Estimated Duration: {estimate}\n-- =====\n"
              "SET lock_timeout = '5s';\nCREATE INDEX idx_accounts_score ON accounts (score);\n")
    root = scale_project(tmp_path, {"20240101_000000_base.sql": BASE,
                                    "20240201_000000_index.sql": header.format(estimate="< 1 second"),
                                    "20240301_000000_unreadable.sql": header.format(estimate="quick").replace(
                                        "idx_accounts_score", "idx_accounts_n").replace("(score)", "(n)")})
    (root / "schemalint.toml").write_text(QUIET + "production-rows = { accounts = 500000000 }\n")
    _code, payload, stderr = verify(root, "migrations", "--rows", "5000", "--dsn", pg_server.dsn)
    sl508 = [f for f in payload["findings"] if f["code"] == "SL508"]
    assert [f["file"].rsplit("/", 1)[-1] for f in sl508] == ["20240201_000000_index.sql",
                                                            "20240301_000000_unreadable.sql"], stderr
    assert "Estimated Duration says < 1 second" in sl508[0]["message"] and "500,000,000" in sl508[0]["message"]
    assert sl508[0]["line"] == 3
    assert "cannot be read as a duration" in sl508[1]["message"]
    # without production rows the same measurement is within "< 1 second"
    (root / "schemalint.toml").write_text(QUIET)
    _, payload, _ = verify(root, "migrations", "--rows", "5000", "--dsn", pg_server.dsn)
    assert [f["file"].rsplit("/", 1)[-1] for f in payload["findings"] if f["code"] == "SL508"] == [
        "20240301_000000_unreadable.sql"]


@pytest.mark.slow
def test_markdown_trace_for_a_pull_request(tmp_path: Path, pg_server: Any) -> None:
    root = scale_project(tmp_path, {"20240101_000000_base.sql": BASE, "20240201_000000_change.sql": CHANGE})
    proc = subprocess.run([sys.executable, "-m", "schemalint", "verify", "--rows", "2000", "--probe", "--dsn",
                           pg_server.dsn, "--format", "markdown", "migrations"], cwd=root, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 1, proc.stderr
    text = proc.stdout
    assert text.startswith("### verify: what each statement did on PostgreSQL")
    assert "| line | statement | lock | ms | reads blocked | writes blocked |" in text
    assert "| 2 | CREATE INDEX idx_accounts_score ON accounts (score) | SHARE on public.accounts |" in text
    assert len(text) < 65_536
    # the text table puts the strongest lock first and shows blocked time
    table = subprocess.run([sys.executable, "-m", "schemalint", "verify", "--rows", "2000", "--probe", "--dsn",
                            pg_server.dsn, "migrations"], cwd=root, capture_output=True, text=True,
                           check=False).stdout
    assert "reads blocked  writes blocked" in table


@pytest.mark.slow
def test_embedded_pgserver_when_the_os_has_none(tmp_path: Path, shared_tmp: Path) -> None:  # noqa: F811
    bindir = pg.embedded_bindir()
    assert bindir is not None, "pgserver is part of the verify extra"
    root = project(tmp_path, {"1.sql": "CREATE TABLE t (id int PRIMARY KEY);\n",
                              "2.sql": "CREATE INDEX i ON t (id);\n"})
    code, payload, stderr = verify(root, "migrations", "--postgres-bin", str(bindir), "--format", "json",
                                   env={"TMPDIR": str(shared_tmp)})
    assert code == 1, stderr
    notes = " ".join(payload["summary"]["notes"])
    assert "server: PostgreSQL 16." in notes and "pgserver" in notes
    assert "but target-postgres is 15" in notes  # the embedded server is 16: said, not hidden
    assert _clusters(shared_tmp) == []


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["filling", "probing"])
def test_nothing_is_left_after_ctrl_c(tmp_path: Path, shared_tmp: Path, phase: str) -> None:  # noqa: F811
    slow = ("SET lock_timeout = '5s';\n"
            "ALTER TABLE accounts ADD COLUMN slow int DEFAULT (CASE WHEN pg_sleep(0.01) IS NULL THEN 1 END);\n")
    root = scale_project(tmp_path, {"20240101_000000_base.sql": BASE, "20240201_000000_slow.sql": slow})
    rows = "3000000" if phase == "filling" else "3000"
    proc = subprocess.Popen([sys.executable, "-m", "schemalint", "verify", "--rows", rows, "--probe",
                             "migrations"], cwd=root, env={**os.environ, "TMPDIR": str(shared_tmp)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _clusters(shared_tmp):
        time.sleep(0.1)
    assert _clusters(shared_tmp), "the cluster never started"
    socket_dir = Path(_clusters(shared_tmp)[0])
    time.sleep(3)  # filling 3,000,000 rows, or 3,000 slow defaults under the probe
    assert proc.poll() is None, "finished before the signal"
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert proc.returncode == 130
    assert b"Traceback" not in proc.stderr.read()  # type: ignore[union-attr]
    assert _clusters(shared_tmp) == [] and not socket_dir.exists()
    leftovers = subprocess.run(["pgrep", "-f", str(shared_tmp)], capture_output=True, text=True, check=False)
    assert leftovers.stdout.strip() == ""
