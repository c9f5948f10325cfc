"""Edge inputs (issue: crash-proof CLI). Each one: no traceback, exit code 0/1 (or 2 where the path is bad)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from schemalint.cli import app
from tests.conftest import lint, lint_files, quiet_config

runner = CliRunner()


def check(tmp_path: Path, *args: str) -> tuple[int, dict[str, object], str]:
    result = runner.invoke(app, ["check", "--format", "json", "--no-cache", *args], catch_exceptions=False)
    payload = json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}
    return result.exit_code, payload, result.stderr


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    quiet_config(tmp_path)
    return tmp_path


def codes_of(payload: dict[str, object]) -> list[str]:
    return [f["code"] for f in payload["findings"]]  # type: ignore[index, union-attr]


def test_empty_file_and_only_comments(here: Path) -> None:
    (here / "a.sql").write_text("")
    (here / "b.sql").write_text("-- just a comment\n/* and another */\n")
    code, payload, _ = check(here, "a.sql", "b.sql")
    assert code == 0 and codes_of(payload) == []


def test_bom_and_crlf_keep_spans_right() -> None:
    data = "\ufeffSELECT 1;\r\nCREATE INDEX idx_a\r\n  ON accounts (a);\r\n".encode()
    (finding,) = lint_files({"m.sql": data}).findings
    assert (finding.span.line, finding.span.column, finding.span.end_line, finding.span.end_column) == (2, 1, 3, 17)


def test_five_megabyte_single_line_file(here: Path) -> None:
    literal = "x" * 100_000
    line = "".join(f"INSERT INTO notes (body) VALUES ('{literal}'); " for _ in range(52)) + "CREATE INDEX idx_n ON notes (body);"
    (here / "big.sql").write_text(line)
    assert (here / "big.sql").stat().st_size > 5_000_000
    code, payload, _ = check(here, "big.sql")
    assert code == 1
    (finding,) = payload["findings"]  # type: ignore[misc]
    assert finding["code"] == "SL102" and finding["line"] == 1 and finding["column"] == len(line) - 34


def test_ten_thousand_nested_parentheses() -> None:
    sql = "SELECT " + "(" * 10_000 + "1" + ")" * 10_000 + ";\nCREATE INDEX idx_a ON accounts (a);\n"
    found = [(f.code, f.span.line) for f in lint(sql)]
    assert ("SL102", 2) in found  # the statement after it is still linted
    assert all(code in ("SL001", "SL102") for code, _ in found)


def test_nul_byte_and_invalid_utf8_are_sl002(here: Path) -> None:
    (here / "nul.sql").write_bytes(b"SELECT 1;\x00")
    (here / "latin1.sql").write_bytes("SELECT 'café';".encode("latin-1"))
    (here / "good.sql").write_text("CREATE INDEX idx_a ON accounts (a);")
    code, payload, _ = check(here, ".")
    assert code == 1
    assert sorted((f["file"], f["code"]) for f in payload["findings"]) == [  # type: ignore[union-attr]
        ("good.sql", "SL102"), ("latin1.sql", "SL002"), ("nul.sql", "SL002")]


def test_statement_without_trailing_semicolon() -> None:
    assert [f.span.line for f in lint("SELECT 1;\nCREATE INDEX idx_a ON accounts (a)")] == [2]


def test_dollar_quoted_bodies_with_semicolons_and_dashes() -> None:
    sql = ("CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $body$ SELECT 'a;b' -- not a comment; \n"
           "  ; $body$;\nCREATE INDEX idx_a ON accounts (a);\n")
    assert [(f.code, f.span.line) for f in lint(sql)] == [("SL102", 3)]


def test_unreadable_file_among_good_ones(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (here / "1_ok.sql").write_text("SELECT 1;")
    (here / "2_secret.sql").write_text("SELECT 2;")
    (here / "3_bad.sql").write_text("CREATE INDEX idx_a ON accounts (a);")
    import builtins

    original = builtins.open

    def guarded_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file).endswith("2_secret.sql"):
            raise PermissionError(13, "Permission denied")
        return original(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    code, payload, _ = check(here, ".")
    assert code == 1
    found = [(f["file"], f["code"]) for f in payload["findings"]]  # type: ignore[union-attr]
    assert found == [("2_secret.sql", "SL002"), ("3_bad.sql", "SL102")]
    assert "Permission denied" in payload["findings"][0]["message"]  # type: ignore[index]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of their permissions")
def test_unreadable_file_for_real(here: Path) -> None:
    (here / "secret.sql").write_text("SELECT 2;")
    (here / "secret.sql").chmod(0)
    code, payload, _ = check(here, ".")
    assert code == 1 and codes_of(payload) == ["SL002"]


def test_missing_path_is_exit_2_naming_it(here: Path) -> None:
    result = runner.invoke(app, ["check", "no/such/dir"])
    assert result.exit_code == 2 and "no/such/dir" in result.stderr


def test_symlink_loop_does_not_hang(here: Path) -> None:
    (here / "m").mkdir()
    (here / "m" / "1.sql").write_text("SELECT 1;")
    os.symlink("..", here / "m" / "loop")
    os.symlink(here / "m", here / "m" / "self")
    proc = subprocess.run([sys.executable, "-m", "schemalint", "check", "--no-cache", "m"], cwd=here,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr


def test_folder_with_ten_thousand_tiny_files(here: Path) -> None:
    folder = here / "many"
    folder.mkdir()
    for i in range(10_000):
        (folder / f"{i}_m.sql").write_text("SELECT 1;\n")
    (folder / "10000_m.sql").write_text("CREATE INDEX idx_a ON accounts (a);\n")
    proc = subprocess.run([sys.executable, "-m", "schemalint", "check", "--format", "json", "--no-cache", "many"],
                          cwd=here, capture_output=True, text=True, timeout=300, check=False)
    payload = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert payload["summary"]["files"] == 10_001
    assert [f["file"] for f in payload["findings"]] == ["many/10000_m.sql"]


def test_check_never_touches_the_input_tree(tmp_path: Path) -> None:
    tree = tmp_path / "migrations"
    tree.mkdir()
    (tree / "1_a.sql").write_text("CREATE TABLE t (a int);")
    (tree / "2_b.sql").write_text("CREATE INDEX idx_t ON t (a);\nALTER TABLE t DROP COLUMN a;")
    (tree / "notes.txt").write_text("hello")

    def snapshot() -> dict[str, tuple[bytes, int]]:
        return {str(p.relative_to(tree)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(tree.rglob("*"))}

    before = snapshot()
    work = tmp_path / "elsewhere"
    work.mkdir()
    for extra in ([], ["--no-cache"], ["--format", "sarif"], ["--statistics"]):
        subprocess.run([sys.executable, "-m", "schemalint", "check", *extra, str(tree)], cwd=work,
                       capture_output=True, check=False)
    assert snapshot() == before
