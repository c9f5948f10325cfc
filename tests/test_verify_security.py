"""`verify` run by a hostile migration and a hostile local user: each attack is performed for real on a
throwaway PostgreSQL and must fail. Also the time limits, the clean exits on every signal, the removal of
clusters a killed run left behind, progress on a terminal, and nothing skipped silently."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.test_verify import found, project, verify

SLOW = "SELECT pg_sleep(60);\n"


@pytest.fixture
def private_tmp() -> Iterator[Path]:
    """A TMPDIR of the test's own, so cluster folders can be watched (reachable by the postgres user)."""
    base = tempfile.mkdtemp(prefix="schemalint-security-", dir="/tmp")
    os.chmod(base, 0o755)
    yield Path(base)
    subprocess.run(["rm", "-rf", base], check=False)


def _clusters(base: Path) -> list[str]:
    return glob.glob(str(base / "schemalint-verify-*"))


def _server_processes(base: Path) -> str:
    return subprocess.run(["pgrep", "-f", str(base)], capture_output=True, text=True, check=False).stdout.strip()


def _start(root: Path, tmp: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "schemalint", "verify", "migrations", *args], cwd=root,
                            env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_socket(tmp: Path, timeout: float = 60) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sockets = glob.glob(str(tmp / "schemalint-verify-*" / ".s.PGSQL.*"))
        if sockets:
            time.sleep(1.5)  # let the run reach its slow statement
            return Path(sockets[0]).parent
        time.sleep(0.1)
    raise AssertionError("the throwaway cluster never started")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def _psql() -> str:
    for candidate in ("/usr/bin/psql", *sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))):
        if os.path.exists(candidate):
            return candidate
    pytest.fail("psql is needed for the local-user attack") if os.environ.get("CI") else pytest.skip("no psql")
    raise AssertionError


# --- 1. a private server ---------------------------------------------------------------------------


@pytest.mark.slow
def test_another_local_user_cannot_reach_the_running_server(tmp_path: Path, private_tmp: Path,
                                                            pg_server: Any) -> None:
    if os.geteuid() != 0:
        pytest.skip("switching to user nobody needs root (CI runs as root)")
    proc = _start(project(tmp_path, {"1.sql": SLOW}), private_tmp)
    try:
        cluster = _wait_for_socket(private_tmp)
        assert cluster.stat().st_mode & 0o777 == 0o700
        attack = [_psql(), "-h", str(cluster), "-U", "postgres", "-d", "postgres", "-w", "-c",
                  "COPY (SELECT 1) TO PROGRAM 'id > /tmp/schemalint-pwned'"]
        as_nobody = subprocess.run(attack, user="nobody", group="nogroup", extra_groups=[], capture_output=True,
                                   text=True, check=False, env={"PATH": "/usr/bin:/bin"}, timeout=30)
        assert as_nobody.returncode != 0
        assert "Permission denied" in as_nobody.stderr or "No such file" in as_nobody.stderr, as_nobody.stderr
        # even a user who can reach the socket (root) cannot log in without the run's password
        as_root = subprocess.run(attack, capture_output=True, text=True, check=False, timeout=30,
                                 env={"PATH": "/usr/bin:/bin"})
        assert as_root.returncode != 0 and "password" in as_root.stderr, as_root.stderr
        hba = (cluster / "data" / "pg_hba.conf").read_text()
        rules = [line for line in hba.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        assert rules and not [line for line in rules if "trust" in line.split()], rules
        assert not os.path.exists("/tmp/schemalint-pwned")
    finally:
        _stop(proc)


# --- 2. migrations never run as superuser -----------------------------------------------------------


@pytest.mark.slow
def test_migration_cannot_reach_the_host_on_the_throwaway_cluster(tmp_path: Path, pg_server: Any) -> None:
    marker = tmp_path / "pwned"
    root = project(tmp_path, {
        "1_program.sql": f"COPY (SELECT 1) TO PROGRAM 'id > {marker}';\n",
        "2_read_file.sql": "SELECT pg_read_file('/etc/passwd');\n",
        "3_env.sql": "CREATE TABLE e (line text);\nCOPY e FROM PROGRAM 'env';\n",
        "4_alter_system.sql": "ALTER SYSTEM SET work_mem = '77MB';\n",
        "5_role.sql": "CREATE ROLE intruder SUPERUSER LOGIN;\n",
        "6_untrusted_extension.sql": "CREATE EXTENSION file_fdw;\n",
        "7_trusted_extensions.sql": "CREATE EXTENSION pgcrypto;\nCREATE EXTENSION citext;\n"
                                    "SELECT gen_random_uuid();\n",
    })
    code, payload, stderr = verify(root, "migrations")
    assert code == 1, stderr
    sl501 = {f["file"].rsplit("/", 1)[-1]: f["message"] for f in payload["findings"] if f["code"] == "SL501"}
    assert set(sl501) == {"1_program.sql", "2_read_file.sql", "3_env.sql", "4_alter_system.sql", "5_role.sql",
                          "6_untrusted_extension.sql"}, sl501
    for message in sl501.values():
        assert "--allow-superuser" in message and "superuser" in message
    assert "root:" not in json.dumps(payload)
    assert not marker.exists()


@pytest.mark.slow
def test_allow_superuser_is_explicit_and_still_shows_no_secret(tmp_path: Path, private_tmp: Path,
                                                               pg_server: Any) -> None:
    secret = "ghp_" + "x7" * 18
    big = private_tmp / "big.txt"  # readable by the server's OS user
    big.write_text("A" * 1000 + "TAIL_OF_THE_FILE")
    big.chmod(0o644)
    root = project(tmp_path / "p", {
        "1_env.sql": (
            "CREATE TABLE e (line text);\nCOPY e FROM PROGRAM 'env';\n"
            "DO $$ BEGIN\n"
            "  IF NOT EXISTS (SELECT FROM e WHERE line LIKE 'PATH=%') THEN RAISE EXCEPTION 'env was not read'; END IF;\n"
            "  IF EXISTS (SELECT FROM e WHERE line LIKE '%ghp_%' OR line LIKE 'SCHEMALINT_TEST_SECRET%') THEN\n"
            "    RAISE EXCEPTION 'secret visible: %', (SELECT string_agg(line, ' ') FROM e);\n"
            "  END IF;\nEND $$;\n"),
        "2_long_message.sql": f"SELECT pg_read_file('{big}')::int;\n",
    })
    code, payload, stderr = verify(root, "migrations", "--allow-superuser", env={"SCHEMALINT_TEST_SECRET": secret})
    text = json.dumps(payload) + stderr
    assert secret not in text
    assert found(payload) == [("2_long_message.sql", "SL501", 1)], payload
    message = payload["findings"][0]["message"]
    assert "invalid input syntax" in message and "TAIL_OF_THE_FILE" not in message
    assert len(message) <= 300 + len("PostgreSQL rejects this statement: ")
    assert code == 1


def _dsn(pg_server: Any, **changes: str) -> str:
    return psycopg.conninfo.make_conninfo(**{**{k: str(v) for k, v in pg_server.conninfo.items()}, **changes})


def _scratch_leftovers(conn: Any) -> list[str]:
    rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'schemalint_verify_%' "
                        "UNION ALL SELECT rolname FROM pg_roles WHERE rolname LIKE 'schemalint_verify_%'")
    return [r[0] for r in rows]


@pytest.mark.slow
def test_migration_cannot_harm_the_dsn_server(tmp_path: Path, pg_server: Any) -> None:
    with psycopg.connect(**pg_server.conninfo, autocommit=True) as admin, \
            psycopg.connect(**pg_server.conninfo, autocommit=True) as bystander:
        admin.execute("DROP DATABASE IF EXISTS victim")
        admin.execute("CREATE DATABASE victim")
        root = project(tmp_path, {
            "1_drop_database.sql": "DROP DATABASE victim;\n",
            "2_superuser_role.sql": "CREATE ROLE intruder SUPERUSER LOGIN;\n",
            "3_alter_system.sql": "ALTER SYSTEM SET work_mem = '77MB';\n",
            "4_kill_sessions.sql": "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE pid <> pg_backend_pid();\n",
        })
        code, payload, stderr = verify(root, "migrations", "--dsn", _dsn(pg_server))
        assert code == 1, stderr
        assert sorted(g[0] for g in found(payload) if g[1] == "SL501") == [
            "1_drop_database.sql", "2_superuser_role.sql", "3_alter_system.sql", "4_kill_sessions.sql"], payload
        assert bystander.execute("SELECT 1").fetchone() == (1,)  # the other client's session lives
        assert admin.execute("SELECT count(*) FROM pg_database WHERE datname = 'victim'").fetchone() == (1,)
        assert admin.execute("SELECT count(*) FROM pg_roles WHERE rolname = 'intruder'").fetchone() == (0,)
        assert admin.execute("SELECT count(*) FROM pg_file_settings WHERE name = 'work_mem'").fetchone() == (0,)
        assert _scratch_leftovers(admin) == []
        admin.execute("DROP DATABASE victim")


@pytest.mark.slow
def test_dsn_never_drops_what_it_did_not_create(pg_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from schemalint.verify import sandbox as sandbox_module

    taken = "schemalint_verify_aaaaaaaaaaaa"
    with psycopg.connect(**pg_server.conninfo, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(taken)))
        admin.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(taken)))
        try:
            names = iter(["aaaaaaaaaaaa", "bbbbbbbbbbbb", "aaaaaaaaaaaa", "cccccccccccc"])
            monkeypatch.setattr(sandbox_module.secrets, "token_hex", lambda n: next(names))
            with sandbox_module.sandbox(pg_server) as box:
                assert box.role == "schemalint_verify_bbbbbbbbbbbb"
                assert box.database == "schemalint_verify_cccccccccccc"
            left = sorted(_scratch_leftovers(admin))
            assert left == [taken, taken], left  # the existing database and role, untouched
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(taken)))
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(taken)))


@pytest.mark.slow
@pytest.mark.parametrize(("role", "attributes", "expected"), [
    ("weak_verify_user", "", "lacks CREATEDB and CREATEROLE"),
    ("ro_verify_user", "CREATEDB CREATEROLE", "read-only"),
])
def test_dsn_without_privileges_or_read_only_is_one_line(tmp_path: Path, pg_server: Any, role: str,
                                                         attributes: str, expected: str) -> None:
    with psycopg.connect(**pg_server.conninfo, autocommit=True) as admin:
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.execute(f"CREATE ROLE {role} LOGIN {attributes} PASSWORD 'pw-for-test'")
        if role.startswith("ro_"):
            admin.execute(f"ALTER ROLE {role} SET default_transaction_read_only = on")
        try:
            root = project(tmp_path, {"1.sql": "CREATE TABLE t (id int);\n"})
            code, _payload, stderr = verify(root, "migrations", "--dsn",
                                            _dsn(pg_server, user=role, password="pw-for-test"))
            assert code == 2
            assert stderr.count("\n") == 1 and expected in stderr and "Traceback" not in stderr, stderr
            assert _scratch_leftovers(admin) == []
        finally:
            admin.execute(f"DROP ROLE IF EXISTS {role}")


# --- 4. time limits, clean exits, leftovers, progress, nothing skipped ------------------------------


@pytest.mark.slow
def test_statement_timeout_cannot_be_lifted_by_the_migration(tmp_path: Path, pg_server: Any) -> None:
    root = project(tmp_path, {"1.sql": "SET statement_timeout = 0;\nDO $$ BEGIN LOOP PERFORM 1; END LOOP; END $$;\n",
                              "2.sql": "CREATE TABLE after_the_loop (id int);\n"})
    started = time.monotonic()
    code, payload, stderr = verify(root, "migrations", "--statement-timeout", "2s")
    assert time.monotonic() - started < 40
    assert code == 1, stderr
    assert found(payload) == [("1.sql", "SL501", 2)], payload
    assert "did not finish within 2s" in payload["findings"][0]["message"]


@pytest.mark.slow
def test_run_timeout_stops_the_run_and_says_what_was_not_applied(tmp_path: Path, pg_server: Any) -> None:
    root = project(tmp_path, {"1.sql": "SELECT pg_sleep(1.5);\n", "2.sql": "SELECT pg_sleep(30);\n",
                              "3.sql": "CREATE TABLE t (id int);\n"})
    started = time.monotonic()
    code, payload, stderr = verify(root, "migrations", "--timeout", "3s")
    assert time.monotonic() - started < 40
    assert code == 1, stderr
    assert found(payload) == [("2.sql", "SL501", 1)], payload
    assert "--timeout of 3s" in payload["findings"][0]["message"]
    assert payload["summary"]["incomplete"] == ["1 file not applied: the run reached its --timeout of 3s"]


def test_bad_durations_are_usage_errors(tmp_path: Path) -> None:
    root = project(tmp_path, {"1.sql": "SELECT 1;\n"})
    for option in ("--timeout", "--statement-timeout"):
        code, _, stderr = verify(root, "migrations", option, "soon")
        assert code == 2 and option in stderr and stderr.count("\n") == 1, stderr


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT],
                         ids=lambda s: signal.Signals(s).name)
def test_every_signal_stops_the_server_and_removes_the_folder(tmp_path: Path, private_tmp: Path,
                                                              pg_server: Any, sig: int) -> None:
    proc = _start(project(tmp_path, {"1.sql": SLOW}), private_tmp)
    try:
        _wait_for_socket(private_tmp)
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert proc.returncode == 128 + sig, stderr
    assert "Traceback" not in stderr and signal.Signals(sig).name in stderr
    assert _clusters(private_tmp) == []
    assert _server_processes(private_tmp) == ""


@pytest.mark.slow
def test_a_signal_during_a_dsn_run_drops_its_scratch_database_and_role(tmp_path: Path, pg_server: Any) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "schemalint", "verify", "migrations", "--dsn", _dsn(pg_server)],
                            cwd=project(tmp_path, {"1.sql": SLOW}), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with psycopg.connect(**pg_server.conninfo, autocommit=True) as admin:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not admin.execute(
                "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'").fetchone():
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        assert proc.returncode == 143
        assert _scratch_leftovers(admin) == []


@pytest.mark.slow
def test_a_later_run_removes_what_a_killed_run_left(tmp_path: Path, private_tmp: Path, pg_server: Any) -> None:
    killed = _start(project(tmp_path / "killed", {"1.sql": SLOW}), private_tmp)
    _wait_for_socket(private_tmp)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    (left,) = _clusters(private_tmp)
    assert _server_processes(private_tmp) != ""  # SIGKILL cannot be caught: the server is still up
    ok = project(tmp_path / "ok", {"1.sql": "CREATE TABLE t (id int);\n"})
    code, _payload, stderr = verify(ok, "migrations", env={"TMPDIR": str(private_tmp)})
    assert code == 0, stderr
    assert f"removed a verify cluster left behind by an ended run (pid {killed.pid}): {left}" in stderr
    assert stderr.count("\n") == 1
    assert _clusters(private_tmp) == []
    assert _server_processes(private_tmp) == ""


@pytest.mark.slow
def test_progress_on_a_terminal_and_nothing_on_a_pipe(tmp_path: Path, pg_server: Any) -> None:
    root = project(tmp_path, {"1_slow.sql": "SELECT pg_sleep(2);\n"})
    code, _, stderr = verify(root, "migrations")
    assert code == 0 and stderr == ""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "schemalint", "verify", "migrations"], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=slave, env={**os.environ, "TERM": "xterm"})
    os.close(slave)
    screen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            screen += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.wait(timeout=60) == 0
    text = screen.decode(errors="replace")
    assert "migrations/1_slow.sql:1" in text and "SELECT pg_sleep(2)" in text
    assert re.search(r"\b1\.\ds", text), text[-500:]  # the elapsed time counts while the statement runs


@pytest.mark.slow
def test_nothing_is_skipped_silently(tmp_path: Path, pg_server: Any) -> None:
    root = project(tmp_path, {
        "1_syntax.sql": "CREATE TABLE a (id int);\nCREATE TABLE b (id int,);\nCREATE TABLE c (id int);\n",
        "2_c.sql": "CREATE TABLE c (id int);\n",  # fails if 1's statement after the error had been applied
        "3_binary.sql": "CREATE TABLE d (id int);\x00\n",
        "4_bad_rollback.sql": "CREATE TABLE e (id int);\n-- migrate:down\nDROP TABLE e,;\n",
    })
    code, payload, stderr = verify(root, "migrations")
    assert code == 1, stderr
    assert found(payload) == [("1_syntax.sql", "SL001", 2), ("3_binary.sql", "SL002", 1),
                              ("4_bad_rollback.sql", "SL001", 3)], payload
    assert payload["summary"]["incomplete"] == [
        "migrations/1_syntax.sql: applied up to the syntax error at line 2",
        "migrations/3_binary.sql: cannot be read, not applied",
        "migrations/4_bad_rollback.sql: rollback not run, it has a syntax error at line 3"]
    proc = subprocess.run([sys.executable, "-m", "schemalint", "verify", "migrations", "--ignore", "SL001,SL002"],
                          cwd=root, capture_output=True, text=True, check=False, timeout=300)
    assert "All checks passed" not in proc.stdout
    assert "Not fully checked: migrations/1_syntax.sql" in proc.stdout
