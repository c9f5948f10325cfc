"""Migration runners on small realistic project folders (tests/runners/<runner>/): detection and the
summary line, each runner's transaction model and per-file opt-out, and migration order."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from schemalint.sources.files import collect, migration_key
from tests.conftest import REPO, lint_files

RUNNERS = REPO / "tests" / "runners"

# runner folder → (runner in the summary, what it was detected from, the findings it must give)
EXPECTED: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "goose": ("goose", "-- +goose markers", [("20240103120000_index_in_transaction.sql", "SL104")]),
    "dbmate": ("dbmate", "-- migrate:up markers", [("20240103120000_begin_inside.sql", "SL004")]),
    "diesel": ("diesel", "diesel.toml", []),
    "sqlx": ("sqlx", "Cargo.toml: sqlx", [("20240103120000_index_in_transaction.sql", "SL104")]),
    "golang-migrate": ("golang-migrate", "N_name.up.sql", [("000010_index_accounts_name.up.sql", "SL104")]),
    "flyway": ("flyway", "V<version>__name.sql", [("V2__region_and_index.sql", "SL104")]),
    "prisma": ("prisma", "migration_lock.toml", [("migration.sql", "SL104")]),  # the two-statement one
    "popx": ("popx", "<dialect>.up.sql", [("20240103000000000000_accounts_id_name_idx.postgres.up.sql", "SL104")]),
}


def check(folder: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run([sys.executable, "-m", "schemalint", "check", ".", "--no-cache", *args], cwd=folder,
                          capture_output=True, text=True, check=False, timeout=120)
    payload = json.loads(proc.stdout) if "--format" in args and proc.stdout.startswith("{") else {}
    return proc.returncode, payload, proc.stdout


@pytest.mark.parametrize("runner", sorted(EXPECTED))
def test_runner_detected_and_its_transaction_model_judged(runner: str) -> None:
    name, reason, expected = EXPECTED[runner]
    folder = RUNNERS / runner
    _code, payload, _ = check(folder, "--format", "json")
    got = [(f["file"].rsplit("/", 1)[-1], f["code"]) for f in payload["findings"]]
    assert got == expected, payload["findings"]
    assert payload["summary"]["runner"].startswith(f"{name} (detected from ") and reason in payload["summary"]["runner"]
    _code, _, text = check(folder)
    assert f"runner: {name} (detected from" in text.splitlines()[-2], text


def test_messages_name_the_runner_and_its_opt_out() -> None:
    _code, payload, _ = check(RUNNERS / "goose", "--format", "json")
    (finding,) = payload["findings"]
    assert "in a file goose wraps in a transaction" in finding["message"]
    assert "-- +goose NO TRANSACTION" in finding["help"]
    _code, payload, _ = check(RUNNERS / "prisma", "--format", "json")
    assert "one implicit transaction" in payload["findings"][0]["message"]


def test_flyway_mixed_is_read_from_flyways_own_config(tmp_path: Path) -> None:
    folder = tmp_path / "flyway"
    shutil.copytree(RUNNERS / "flyway", folder)
    _code, payload, _ = check(folder, "--format", "json")
    (finding,) = payload["findings"]
    assert finding["message"].startswith("Flyway refuses this script: it runs CREATE INDEX CONCURRENTLY")
    (folder / "src" / "main" / "resources" / "application.properties").write_text("spring.flyway.mixed = true\n")
    _code, payload, _ = check(folder, "--format", "json")
    assert payload["findings"] == []
    (folder / "src" / "main" / "resources" / "application.properties").unlink()
    (folder / "flyway.conf").write_text("flyway.url=jdbc:postgresql://localhost/app\nflyway.mixed=true\n")
    _code, payload, _ = check(folder, "--format", "json")
    assert payload["findings"] == []
    with (folder / "schemalint.toml").open("a") as config:  # the config says otherwise: it wins
        config.write("[flyway]\nmixed = false\n")
    _code, payload, _ = check(folder, "--format", "json")
    assert [f["code"] for f in payload["findings"]] == ["SL104"]


def test_begin_commit_in_an_implicit_transaction_is_legal() -> None:
    # golang-migrate sends the file as one query: BEGIN/COMMIT inside it draw no SL004 (PostgreSQL turns the
    # implicit block into an explicit one); the same file under dbmate (wrapped) is SL004
    sql = "BEGIN;\nALTER TABLE accounts ADD COLUMN region text;\nCOMMIT;\n"
    for runner, expected in (("golang-migrate", []), ("prisma", []), ("dbmate", ["SL004"]), ("psql", [])):
        result = lint_files({"1.sql": sql}, {"runner": runner, "select": ["SL004"]})
        assert [f.code for f in result.findings] == expected, runner


def test_configured_runner_wins_over_detection(tmp_path: Path) -> None:
    folder = tmp_path / "flyway"
    shutil.copytree(RUNNERS / "flyway", folder)
    config = folder / "schemalint.toml"
    config.write_text('runner = "psql"\n' + config.read_text())
    _code, payload, _ = check(folder, "--format", "json")
    assert payload["findings"] == []  # psql: autocommit, CONCURRENTLY is fine everywhere
    assert payload["summary"]["runner"] == "psql (configured)"


def test_unknown_runner_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "schemalint.toml").write_text('runner = "flywheel"\n')
    (tmp_path / "1.sql").write_text("SELECT 1;\n")
    proc = subprocess.run([sys.executable, "-m", "schemalint", "check", "."], cwd=tmp_path, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 2 and "unknown runner 'flywheel'" in proc.stderr and "goose" in proc.stderr


def test_no_runner_is_unknown_and_judged_statement_by_statement(tmp_path: Path) -> None:
    (tmp_path / "1.sql").write_text("CREATE INDEX CONCURRENTLY idx_a ON accounts (a);\n")
    _code, payload, _ = check(tmp_path, "--format", "json")
    assert all(f["code"] != "SL104" for f in payload["findings"])
    assert payload["summary"]["runner"] == ("unknown — each statement judged as run on its own; set runner = \"…\" "
                                            "if yours wraps files in a transaction")


def _order(folder: Path) -> list[str]:
    return [f.display.rsplit("/", 2)[-2] + "/" + f.display.rsplit("/", 1)[-1] if f.display.count("/") else f.display
            for f in collect([str(folder)], ["*.sql"], []) if f.role == "up"]


def test_migration_order_of_mixed_timestamp_styles_and_flyway_versions() -> None:
    diesel = [p.split("/")[0] for p in _order(RUNNERS / "diesel" / "migrations")]
    assert diesel == ["00000000000000_diesel_initial_setup", "2024-01-01-120000_create_accounts",
                      "20240102120000_create_notes", "2024-01-03-120000_widen_notes_body",
                      "2024-01-04-120000_index_accounts_name"]
    flyway = [p.split("/")[-1] for p in _order(RUNNERS / "flyway")]
    assert flyway == ["V1__create_accounts.sql", "V1_9__create_notes.sql", "V1_10__index_notes.sql",
                      "V2__region_and_index.sql", "R__account_names.sql"]
    assert sorted(["10_b.sql", "2_a.sql", "1_c.up.sql"], key=migration_key) == ["1_c.up.sql", "2_a.sql", "10_b.sql"]
    # an 18-digit timestamp (diesel's -0000 suffix) still sorts by its date against a 14-digit one
    assert sorted(["2024-01-01-000000_b/up.sql", "2023-01-01-000000-0000_a/up.sql"], key=migration_key)[0].startswith(
        "2023")


def test_order_decides_what_the_history_knows() -> None:
    # the diesel folder widens notes.body in a dashed-timestamp folder after notes was created in a plain one:
    # with the runner's order the old type is known and the widening is safe (no SL204)
    _code, payload, _ = check(RUNNERS / "diesel", "--format", "json")
    assert not [f for f in payload["findings"] if f["code"] == "SL204"]


@pytest.mark.slow
def test_verify_runs_each_file_the_way_its_runner_does(tmp_path: Path, pg_server: Any) -> None:
    folder = tmp_path / "goose"
    shutil.copytree(RUNNERS / "goose", folder)
    proc = subprocess.run([sys.executable, "-m", "schemalint", "verify", ".", "--format", "json"], cwd=folder,
                          capture_output=True, text=True, check=False, timeout=300)
    payload = json.loads(proc.stdout)
    got = [(f["file"].rsplit("/", 1)[-1], f["code"], f["line"]) for f in payload["findings"]]
    # the wrapped file fails on the server exactly as under goose; the NO TRANSACTION file applies cleanly
    assert got == [("20240103120000_index_in_transaction.sql", "SL501", 2)], payload
    assert "cannot run inside a transaction block" in payload["findings"][0]["message"]
    assert payload["summary"]["runner"] == "goose (detected from -- +goose markers)"


@pytest.mark.slow
def test_verify_agrees_that_a_one_statement_query_is_no_transaction_block(tmp_path: Path, pg_server: Any) -> None:
    folder = tmp_path / "golang-migrate"
    shutil.copytree(RUNNERS / "golang-migrate", folder)
    proc = subprocess.run([sys.executable, "-m", "schemalint", "verify", ".", "--format", "json", "--select", "SL501"],
                          cwd=folder, capture_output=True, text=True, check=False, timeout=300)
    payload = json.loads(proc.stdout)
    got = [(f["file"].rsplit("/", 1)[-1], f["code"]) for f in payload["findings"]]
    # two statements in one query: one implicit transaction, refused; the lone statement runs on its own
    assert got == [("000010_index_accounts_name.up.sql", "SL501")], payload
    _code, checked, _ = check(folder, "--format", "json")
    assert [(f["file"].rsplit("/", 1)[-1], f["code"]) for f in checked["findings"]] == [
        ("000010_index_accounts_name.up.sql", "SL104")]
