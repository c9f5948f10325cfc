"""Bad input never produces a traceback; a crashing rule is isolated and reported."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from schemalint.cli import app
from schemalint.rules import all_rules
from schemalint.rules.base import REGISTRY
from tests.conftest import codes, lint, lint_files, quiet_config

runner = CliRunner()


def test_syntax_error_in_the_middle_of_a_file() -> None:
    sql = ("CREATE INDEX idx_a ON accounts (a);\n"
           "ALTER TABLE accounts ADD COLUMN x int NOT NUL;\n"
           "ALTER TABLE accounts DROP COLUMN y;\n")
    findings = lint(sql)
    assert [(f.code, f.span.line) for f in findings] == [("SL102", 1), ("SL001", 2), ("SL201", 3)]
    sl001 = findings[1]
    assert sl001.span.column == 43 and 'syntax error at or near "NUL"' in sl001.message


def test_non_ascii_columns_count_characters() -> None:
    sql = "SELECT 'ünïcødé', '日本語';  CREATE INDEX idx_a ON accounts (a);\n"
    (finding,) = lint(sql)
    assert (finding.span.line, finding.span.column) == (1, 27)
    assert finding.span.end_column == 26 + len("CREATE INDEX idx_a ON accounts (a)")


def test_undecodable_and_nul_files_are_sl002() -> None:
    result = lint_files({"a.sql": b"SELECT '\xff';\n", "b.sql": b"SELECT 1;\x00\n", "c.sql": "CREATE INDEX i ON t (a);"})
    assert [(f.file, f.code) for f in result.findings] == [("a.sql", "SL002"), ("b.sql", "SL002"), ("c.sql", "SL102")]
    assert "byte offset 8" in result.findings[0].message


def test_bom_is_accepted() -> None:
    result = lint_files({"a.sql": b"\xef\xbb\xbfCREATE INDEX i ON t (a);\n"})
    assert [(f.code, f.span.line, f.span.column) for f in result.findings] == [("SL102", 1, 1)]


def test_crashing_rule_is_reported_and_the_run_continues(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    all_rules()
    original = REGISTRY["SL201"]

    def boom(stmt: object, ctx: object) -> list[object]:
        raise ZeroDivisionError("kaboom")

    monkeypatch.setitem(REGISTRY, "SL201", dataclasses.replace(original, check=boom))  # type: ignore[arg-type]
    monkeypatch.chdir(tmp_path)
    quiet_config(tmp_path)
    (tmp_path / "a.sql").write_text("SELECT 1;\nALTER TABLE t DROP COLUMN c;\n")
    (tmp_path / "b.sql").write_text("CREATE INDEX i ON t (a);\n")
    result = runner.invoke(app, ["check", "--format", "json", "."])
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert [f["code"] for f in payload["findings"]] == ["SL102"]
    (error,) = payload["internal_errors"]
    assert error["rule"] == "SL201" and error["file"] == "a.sql" and error["line"] == 2
    assert "ZeroDivisionError" in result.stderr and "Traceback" not in result.stderr


def test_empty_and_comment_only_files() -> None:
    assert codes(lint("")) == []
    assert codes(lint("-- nothing here\n/* at all */\n")) == []


def test_statement_rules_ignore_rollback_sections() -> None:
    dbmate = "-- migrate:up\nCREATE TABLE t (a int);\n-- migrate:down\nDROP INDEX idx_t;\nALTER TABLE x DROP COLUMN y;\n"
    assert codes(lint(dbmate)) == []
    goose = "-- +goose Up\nSELECT 1;\n-- +goose Down\nALTER TABLE x DROP COLUMN y;\n"
    assert codes(lint(goose)) == []


def test_sibling_down_files_are_rollback() -> None:
    result = lint_files({"m/1_x/up.sql": "ALTER TABLE t ADD COLUMN c int;", "m/1_x/down.sql": "ALTER TABLE t DROP COLUMN c;"})
    assert result.findings == []


def test_rollback_in_the_guide_comment_is_parsed_at_its_real_line() -> None:
    sql = ("SELECT 1;\n-- =====\n-- DOWN MIGRATION (ROLLBACK)\n-- =====\n/*\nDROP INDEX IF EXISTS idx_a;\n"
           "ALTER TABLEE accounts DROP COLUMN c;\n*/\n")
    findings = lint(sql)
    assert [(f.code, f.span.line) for f in findings] == [("SL001", 7)]
    assert "rollback" in findings[0].message
