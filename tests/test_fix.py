"""check --fix applies only safe mechanical edits, and only when asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from schemalint.cli import app
from tests.conftest import quiet_config

runner = CliRunner()


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    quiet_config(tmp_path)
    return tmp_path


def test_fix_adds_concurrently_outside_transactions_only(here: Path) -> None:
    original = ("CREATE INDEX idx_a ON accounts (a);\n"
                "drop index idx_old;\n"
                "BEGIN;\nCREATE INDEX idx_b ON accounts (b);\nCOMMIT;\n"
                "DROP INDEX idx_c, idx_d;\n")
    (here / "m.sql").write_text(original)
    result = runner.invoke(app, ["check", "--fix", "--format", "json", "m.sql"])
    assert "Fixed 2 findings in 1 file." in result.stderr
    fixed = (here / "m.sql").read_text()
    assert fixed == original.replace("CREATE INDEX idx_a", "CREATE INDEX CONCURRENTLY idx_a").replace(
        "drop index idx_old", "drop index CONCURRENTLY idx_old")
    remaining = [(f["code"], f["line"]) for f in json.loads(result.stdout)["findings"]]
    assert remaining == [("SL102", 4), ("SL103", 6)]  # one finding for the statement, naming both indexes
    again = runner.invoke(app, ["check", "--fix", "m.sql"])
    assert "Fixed 0 findings in 0 files." in again.stderr
    assert (here / "m.sql").read_text() == fixed


def test_fix_keeps_bom_crlf_and_non_ascii(here: Path) -> None:
    data = "\ufeff-- índice\r\nCREATE INDEX idx_é ON accounts (a);\r\n".encode()
    (here / "m.sql").write_bytes(data)
    runner.invoke(app, ["check", "--fix", "m.sql"])
    assert (here / "m.sql").read_bytes() == "\ufeff-- índice\r\nCREATE INDEX CONCURRENTLY idx_é ON accounts (a);\r\n".encode()


def test_without_fix_the_text_report_says_it_is_fixable(here: Path) -> None:
    (here / "m.sql").write_text("CREATE INDEX idx_a ON accounts (a);\n")
    out = runner.invoke(app, ["check", "m.sql"]).stdout
    assert "fixable with --fix" in out
    assert (here / "m.sql").read_text() == "CREATE INDEX idx_a ON accounts (a);\n"


def test_stdin_fixed_text_goes_to_stdout_never_to_a_file(here: Path) -> None:
    """ruff's convention: with '-' the fixed text is written to standard output, what remains to stderr."""
    result = runner.invoke(app, ["check", "--fix", "-", "--stdin-filename", "m.sql"],
                           input="CREATE INDEX idx_a ON accounts (a);\n")
    assert result.stdout == "CREATE INDEX CONCURRENTLY idx_a ON accounts (a);\n"
    assert "Fixed 1 finding in 1 file" in result.stderr and not (here / "m.sql").exists()
    assert result.exit_code == 0, result.stderr


UNSAFE = ("ALTER TABLE opportunities ADD CONSTRAINT fk_opp_account FOREIGN KEY (account_id) REFERENCES accounts (id);\n"
          "ALTER TABLE accounts ALTER COLUMN region SET NOT NULL;\n"
          "ALTER TABLE accounts ADD CONSTRAINT uk_accounts_email UNIQUE (email);\n"
          "BEGIN;\nCREATE INDEX CONCURRENTLY idx_a ON accounts (a);\nCOMMIT;\n"
          "CREATE TABLE events (id bigint PRIMARY KEY, at timestamp(3) NOT NULL, payload json);\n")


def test_unsafe_fixes_only_when_asked_and_diff_writes_nothing(here: Path) -> None:
    (here / "schemalint.toml").write_text("[locks]\nrunner-sets-lock-timeout = true\n")
    (here / "m.sql").write_text(UNSAFE)
    report = runner.invoke(app, ["check", "--select", "SL104,SL105,SL108,SL109,SL403,SL407", "m.sql"]).stdout
    assert report.count("fixable with --fix --unsafe-fixes") == 6, report
    assert "6 fixable with `--fix --unsafe-fixes`" in report
    safe_only = runner.invoke(app, ["check", "--fix", "m.sql"])
    assert "Fixed 0 findings" in safe_only.stderr and (here / "m.sql").read_text() == UNSAFE
    diff = runner.invoke(app, ["check", "--diff", "--unsafe-fixes", "m.sql"])
    assert diff.exit_code == 1 and (here / "m.sql").read_text() == UNSAFE
    assert diff.stdout.startswith("--- a/m.sql\n+++ b/m.sql\n")
    assert "+ALTER TABLE opportunities ADD CONSTRAINT fk_opp_account FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;" in diff.stdout
    fixed = runner.invoke(app, ["check", "--fix", "--unsafe-fixes", "--format", "json", "--select",
                                "SL104,SL105,SL108,SL109,SL403,SL407", "m.sql"])
    assert json.loads(fixed.stdout)["findings"] == [], fixed.stdout
    text = (here / "m.sql").read_text()
    for line in ("ALTER TABLE opportunities VALIDATE CONSTRAINT fk_opp_account;",
                 "ALTER TABLE accounts ADD CONSTRAINT chk_accounts_region_not_null CHECK (region IS NOT NULL) NOT VALID;",
                 "ALTER TABLE accounts DROP CONSTRAINT chk_accounts_region_not_null;",
                 "CREATE UNIQUE INDEX CONCURRENTLY uk_accounts_email ON accounts (email);",
                 "ALTER TABLE accounts ADD CONSTRAINT uk_accounts_email UNIQUE USING INDEX uk_accounts_email;",
                 "CREATE INDEX CONCURRENTLY idx_a ON accounts (a);\nBEGIN;\nCOMMIT;",
                 "at timestamptz(3) NOT NULL, payload jsonb)"):
        assert line in text, (line, text)
    nothing = runner.invoke(app, ["check", "--diff", "--unsafe-fixes", "m.sql"])
    assert nothing.exit_code == 0 and nothing.stdout == ""


def test_lock_timeout_fix_is_safe_and_uses_the_configured_value(here: Path) -> None:
    (here / "schemalint.toml").write_text('select = ["SL114"]\n[locks]\nlock-timeout = "3s"\n')
    (here / "m.sql").write_text("-- migrate:up\nALTER TABLE accounts ADD COLUMN x int;\n-- migrate:down\n")
    runner.invoke(app, ["check", "--fix", "m.sql"])
    assert (here / "m.sql").read_text() == ("-- migrate:up\nSET lock_timeout = '3s';\nALTER TABLE accounts ADD "
                                           "COLUMN x int;\n-- migrate:down\n")
