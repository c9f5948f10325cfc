"""schemalint verify on a real throwaway PostgreSQL: each SL50x triggered and not, the temporary
cluster's clean-up (after a run, a failing migration and SIGINT), and --dsn."""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import quiet_config


@pytest.fixture(scope="module")
def shared_tmp() -> Any:
    # PostgreSQL runs as another user when the tests run as root: its folders must be reachable
    base = tempfile.mkdtemp(prefix="schemalint-verify-tests-", dir="/tmp")
    os.chmod(base, 0o755)
    yield Path(base)
    subprocess.run(["rm", "-rf", base], check=False)


def verify(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run([sys.executable, "-m", "schemalint", "verify", "--format", "json", *args], cwd=cwd,
                          capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}, timeout=300)
    payload = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
    return proc.returncode, payload, proc.stderr


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    quiet_config(tmp_path)
    m = tmp_path / "migrations"
    m.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (m / name).parent.mkdir(parents=True, exist_ok=True)
        (m / name).write_text(text)
    return tmp_path


def found(payload: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(f["file"].rsplit("/", 1)[-1], f["code"], f["line"]) for f in payload["findings"]]


HISTORY = "CREATE TABLE accounts (id int PRIMARY KEY, name varchar(50), score int);\n"


@pytest.mark.slow
def test_observed_codes_triggered_and_not(tmp_path: Path, pg_server: Any) -> None:
    root = project(tmp_path, {
        "20240101_000000_base.sql": HISTORY,
        "20240201_000000_changes.sql": (
            "SET lock_timeout = '2s';\n"
            "ALTER TABLE accounts ALTER COLUMN name TYPE varchar(200);\n"    # no rewrite, timeout set: clean
            "ALTER TABLE accounts ALTER COLUMN score TYPE bigint;\n"          # SL502 (+ SL504)
            "RESET lock_timeout;\n"
            "CREATE INDEX idx_accounts_score ON accounts (score);\n"          # SL503 SHARE, SL504 scan
            "CREATE INDEX CONCURRENTLY idx_accounts_name ON accounts (name);\n"  # not observable: nothing
            "-- migrate:down\n"
            "DROP INDEX idx_accounts_name;\nDROP INDEX idx_accounts_score;\n"
            "ALTER TABLE accounts ALTER COLUMN score TYPE int;\n"
            "ALTER TABLE accounts ALTER COLUMN name TYPE varchar(50);\n"
        ),
        "20240301_000000_fails.sql": "ALTER TABLE accounts ADD CONSTRAINT chk CHECK (score > (SELECT 1));\n",
    })
    code, payload, stderr = verify(root, "migrations", "--select", "ALL")
    assert code == 1, stderr
    got = found(payload)
    assert ("20240201_000000_changes.sql", "SL502", 3) in got
    assert ("20240201_000000_changes.sql", "SL504", 3) in got
    assert ("20240201_000000_changes.sql", "SL503", 5) in got
    assert ("20240201_000000_changes.sql", "SL504", 5) in got
    assert not [g for g in got if g[0] == "20240201_000000_changes.sql" and g[2] in (1, 2, 6)]
    assert ("20240301_000000_fails.sql", "SL501", 1) in got
    sl501 = next(f for f in payload["findings"] if f["code"] == "SL501")
    assert "cannot use subquery in check constraint" in sl501["message"]
    # the changes file has a rollback that restores the schema: no SL505/SL506
    assert not [g for g in got if g[1] in ("SL505", "SL506")]


@pytest.mark.slow
def test_rollback_mismatch_and_failure(tmp_path: Path, pg_server: Any) -> None:
    root = project(tmp_path, {
        "20240101_000000_base.sql": HISTORY,
        "20240201_000000_mismatch/up.sql": "SET lock_timeout = '1s';\nALTER TABLE accounts ADD COLUMN region text;\n"
                                           "CREATE TABLE notes (id int);\n",
        "20240201_000000_mismatch/down.sql": "DROP TABLE notes;\n",
        "20240301_000000_broken.sql": (
            "SET lock_timeout = '1s';\nALTER TABLE accounts ADD COLUMN tier text;\n"
            "-- =====\n-- DOWN MIGRATION (ROLLBACK)\n-- =====\n"
            "/*\nALTER TABLE accounts DROP COLUMN no_such_column;\n*/\n"
        ),
    })
    code, payload, stderr = verify(root, "migrations")
    got = found(payload)
    assert ("down.sql", "SL505", 1) in got, got
    sl505 = next(f for f in payload["findings"] if f["code"] == "SL505")
    assert "public.accounts.region is still there after the rollback" in sl505["message"]
    assert ("20240301_000000_broken.sql", "SL506", 7) in got
    assert code == 1, stderr


def _clusters(base: Path) -> list[str]:
    return glob.glob(str(base / "schemalint-verify-*"))


@pytest.mark.slow
def test_cluster_is_removed_after_run_failure_and_sigint(tmp_path: Path, shared_tmp: Path, pg_server: Any) -> None:
    env = {"TMPDIR": str(shared_tmp)}
    ok = project(tmp_path / "ok", {"1.sql": HISTORY})
    assert verify(ok, "migrations", env=env)[0] == 0
    assert _clusters(shared_tmp) == []
    bad = project(tmp_path / "bad", {"1.sql": "CREATE TABLE broken (id int REFERENCES nowhere);\n"})
    code, payload, _ = verify(bad, "migrations", env=env)
    assert code == 1 and found(payload)[0][1] == "SL501"
    assert _clusters(shared_tmp) == []
    slow = project(tmp_path / "slow", {"1.sql": "SELECT pg_sleep(60);\n"})
    proc = subprocess.Popen([sys.executable, "-m", "schemalint", "verify", "migrations"], cwd=slow,
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _clusters(shared_tmp):
        time.sleep(0.1)
    assert _clusters(shared_tmp), "the cluster never started"
    time.sleep(1.5)  # let it reach pg_sleep
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert b"Traceback" not in proc.stderr.read()  # type: ignore[union-attr]
    assert _clusters(shared_tmp) == []
    leftovers = subprocess.run(["pgrep", "-f", str(shared_tmp)], capture_output=True, text=True, check=False)
    assert leftovers.stdout.strip() == ""


@pytest.mark.slow
def test_existing_server_with_dsn_uses_a_scratch_database(tmp_path: Path, pg_server: Any) -> None:
    import psycopg

    dsn = pg_server.dsn
    root = project(tmp_path, {"1.sql": HISTORY + "CREATE INDEX idx_a ON accounts (name);\n"})
    code, _payload, stderr = verify(root, "migrations", "--dsn", dsn)
    assert code == 0, stderr
    with psycopg.connect(dsn) as conn:
        names = [r[0] for r in conn.execute("SELECT datname FROM pg_database")]
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    assert not [n for n in names if n.startswith("schemalint_verify_")]
    assert "accounts" not in tables  # nothing was written to the database named in the DSN


def test_missing_binaries_is_one_clear_line(tmp_path: Path) -> None:
    root = project(tmp_path, {"1.sql": HISTORY})
    code, _, stderr = verify(root, "migrations", "--pg-bin", str(tmp_path / "nowhere"))
    assert code == 2
    assert stderr.count("\n") == 1 and "apt-get install postgresql" in stderr


@pytest.mark.slow
def test_assume_in_transaction_applies_the_file_as_one_transaction(tmp_path: Path, pg_server: Any) -> None:
    root = project(tmp_path, {
        "1.sql": HISTORY,
        "2.sql": "ALTER TABLE accounts ADD COLUMN a int;\nCREATE INDEX idx_a ON accounts (a);\n",
    })
    _code, payload, _stderr = verify(root, "migrations", "--assume-in-transaction")
    # one transaction: the second statement's SHARE lock is new, the ACCESS EXCLUSIVE one is still held
    got = found(payload)
    assert ("2.sql", "SL503", 1) in got and ("2.sql", "SL503", 2) not in got, got
    _code2, payload2, _ = verify(root, "migrations")
    assert ("2.sql", "SL503", 2) in found(payload2)


@pytest.mark.slow
def test_since_applies_history_and_judges_only_changed_files(tmp_path: Path, pg_server: Any) -> None:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x.invalid"}
    root = project(tmp_path, {"1.sql": HISTORY + "CREATE INDEX idx_n ON accounts (name);\n"})
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env={**os.environ, **env})
    (root / "migrations" / "2.sql").write_text("ALTER TABLE accounts ALTER COLUMN score TYPE bigint;\n")
    code, payload, stderr = verify(root, "migrations", "--since", "main")
    assert code == 1, stderr
    assert {g[0] for g in found(payload)} == {"2.sql"}  # 1.sql was applied, not judged
    assert ("2.sql", "SL502", 1) in found(payload)


@pytest.mark.slow
def test_enum_value_used_in_same_transaction_fails_on_the_server_as_check_says(tmp_path: Path,
                                                                                pg_server: Any) -> None:
    """SL123 static and SL501 observed agree: PostgreSQL rejects the new label before the ALTER TYPE commits,
    and accepts it once it has."""
    root = project(tmp_path, {
        "20240101_000000_base.sql": "CREATE TYPE mood AS ENUM ('ok');\nCREATE TABLE people (id int, feeling mood);\n",
        "20240201_000000_same_tx.sql": ("BEGIN;\nALTER TYPE mood ADD VALUE 'great';\n"
                                        "UPDATE people SET feeling = 'great' WHERE id = 1;\nCOMMIT;\n"),
        "20240301_000000_committed.sql": "ALTER TYPE mood ADD VALUE 'fine';\nUPDATE people SET feeling = 'fine';\n",
    })
    _code, payload, stderr = verify(root, "migrations", "--select", "SL501")
    got = found(payload)
    assert ("20240201_000000_same_tx.sql", "SL501", 3) in got, (got, stderr)
    failure = next(f for f in payload["findings"] if f["code"] == "SL501")
    assert 'unsafe use of new value "great" of enum type mood' in failure["message"]
    assert not [g for g in got if g[0] == "20240301_000000_committed.sql"]
    static = subprocess.run([sys.executable, "-m", "schemalint", "check", "--format", "json", "--select", "SL123",
                             "--no-cache", "migrations"], cwd=root, capture_output=True, text=True, check=False)
    flagged = [(f["file"].rsplit("/", 1)[-1], f["line"]) for f in json.loads(static.stdout)["findings"]]
    assert flagged == [("20240201_000000_same_tx.sql", 3)]
