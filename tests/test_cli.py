"""The command line, through typer's CliRunner and through the installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from schemalint.cli import app
from tests.conftest import REPO, quiet_config

runner = CliRunner()

BAD = "CREATE INDEX idx_accounts_name ON accounts (account_name);\n"
GOOD = "CREATE INDEX CONCURRENTLY idx_accounts_name ON accounts (account_name);\n"
WARN_ONLY = "-- schemalint: ignore SL999\nSELECT 1;\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    quiet_config(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run_json(*args: str) -> tuple[int, dict[str, object]]:
    result = runner.invoke(app, ["check", "--format", "json", *args])
    return result.exit_code, json.loads(result.stdout)


def test_exit_codes(project: Path) -> None:
    write(project / "m" / "1_bad.sql", BAD)
    write(project / "ok" / "1_good.sql", GOOD)
    write(project / "warn" / "1_warn.sql", WARN_ONLY)
    assert runner.invoke(app, ["check", "m"]).exit_code == 1
    assert runner.invoke(app, ["check", "ok"]).exit_code == 0
    assert runner.invoke(app, ["check", "warn"]).exit_code == 0
    assert runner.invoke(app, ["check", "--fail-on", "warning", "warn"]).exit_code == 1
    assert runner.invoke(app, ["check", "--exit-zero", "m"]).exit_code == 0
    missing = runner.invoke(app, ["check", "nope"])
    assert missing.exit_code == 2
    assert "nope" in missing.stderr


def test_json_shape_and_relative_paths(project: Path) -> None:
    write(project / "migrations" / "20240101_000000_x.sql", "SELECT 1;\n" + BAD)
    code, payload = run_json("migrations")
    assert code == 1
    assert payload["version"] == 1
    assert payload["summary"] == {"files": 1, "errors": 1, "warnings": 0,
                                  "runner": "unknown — each statement judged as run on its own; set runner = \"…\" if yours wraps files in a transaction"}
    (finding,) = payload["findings"]  # type: ignore[misc]
    assert finding == {
        "code": "SL102",
        "name": "create-index-non-concurrently",
        "severity": "error",
        "file": "migrations/20240101_000000_x.sql",
        "line": 2,
        "column": 1,
        "end_line": 2,
        "end_column": 58,
        "message": finding["message"],
        "help": finding["help"],
        # ruff's shape: how safe the fix is, and its edits (character offsets in the file)
        "fix": {"applicability": "safe", "edits": [{"start": 22, "end": 22, "content": " CONCURRENTLY"}]},
    }
    assert "accounts" in finding["message"] and "SHARE" in finding["message"]
    assert "CREATE INDEX CONCURRENTLY idx_accounts_name ON accounts (account_name);" in finding["help"]


def test_migration_order_is_natural_and_history_is_shared(project: Path) -> None:
    write(project / "m" / "10_index.sql", "CREATE INDEX idx_t_a ON t (a);\n")
    write(project / "m" / "2_create.sql", "CREATE TABLE t (a int);\nCREATE INDEX idx_t_a2 ON t (a);\n")
    _, payload = run_json("m")
    # 2_create runs first: the index there is on a new table; 10_index is a later file → existing
    assert [(f["file"], f["code"]) for f in payload["findings"]] == [("m/10_index.sql", "SL102")]  # type: ignore[union-attr]


def test_stdin_with_filename(project: Path) -> None:
    result = runner.invoke(app, ["check", "-", "--stdin-filename", "migrations/x.sql", "--format", "concise"], input=BAD)
    assert result.exit_code == 1
    assert result.stdout.startswith("migrations/x.sql:1:1: SL102 [error] ")


def test_concise_format(project: Path) -> None:
    write(project / "b.sql", "SELECT 1;\n" + BAD)
    write(project / "a.sql", WARN_ONLY)
    result = runner.invoke(app, ["check", "--format", "concise", "a.sql", "b.sql"])
    lines = result.stdout.splitlines()
    assert lines[0].startswith("a.sql:1:1: SL003 [warning] unknown rule 'SL999'")
    assert lines[1].startswith("b.sql:2:1: SL102 [error] CREATE INDEX idx_accounts_name on accounts")
    assert len(lines) == 2


def test_github_annotations_are_escaped(project: Path) -> None:
    write(project / "dir,1" / "a:b.sql", BAD)
    result = runner.invoke(app, ["check", "--format", "github", "dir,1"])
    line = result.stdout.strip()
    assert line.startswith("::error file=dir%2C1/a%3Ab.sql,line=1,col=1,endLine=1,endColumn=58,title=SL102 create-index-non-concurrently::")
    assert "\n" not in line and "%0A" in line  # the help text is folded onto one line


def test_text_format_has_frame_help_and_summary_without_colour(project: Path) -> None:
    write(project / "m.sql", "SELECT 1;\n" + BAD)
    result = runner.invoke(app, ["check", "m.sql"])
    out = result.stdout
    assert "\x1b[" not in out
    assert "m.sql:2:1: SL102 [error]" in out
    assert "2 │ CREATE INDEX idx_accounts_name ON accounts (account_name);" in out
    assert "^^^^" in out
    assert "help: " in out and "CONCURRENTLY" in out
    assert "schemalint explain SL102" in out
    assert out.rstrip().endswith("Found 1 error in 1 file (1 file checked). 1 fixable with `schemalint check --fix`.")


def test_colour_is_forced_and_no_color_wins(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(project / "m.sql", BAD)
    assert "\x1b[" in runner.invoke(app, ["check", "--color", "m.sql"]).stdout
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in runner.invoke(app, ["check", "m.sql"]).stdout


def test_statistics_and_output_file(project: Path) -> None:
    write(project / "m.sql", BAD + "ALTER TABLE accounts DROP COLUMN x;\n" + BAD.replace("idx_accounts_name", "idx_b"))
    result = runner.invoke(app, ["check", "--format", "concise", "--statistics", "m.sql"])
    assert "2  SL102  create-index-non-concurrently  [error]" in result.stdout
    assert "1  SL201  drop-column  [error]" in result.stdout
    out = project / "report.json"
    result = runner.invoke(app, ["check", "--format", "json", "--output-file", str(out), "m.sql"])
    assert result.stdout == ""
    assert json.loads(out.read_text())["summary"]["errors"] == 3


def test_select_ignore_and_names(project: Path) -> None:
    write(project / "m.sql", BAD + "ALTER TABLE accounts DROP COLUMN x;\n")
    _, payload = run_json("--select", "SL2", "m.sql")
    assert [f["code"] for f in payload["findings"]] == ["SL201"]  # type: ignore[union-attr]
    _, payload = run_json("--ignore", "drop-column", "m.sql")
    assert [f["code"] for f in payload["findings"]] == ["SL102"]  # type: ignore[union-attr]
    bad = runner.invoke(app, ["check", "--select", "SL9999", "m.sql"])
    assert bad.exit_code == 2 and "SL9999" in bad.stderr


def test_rules_command(project: Path) -> None:
    result = runner.invoke(app, ["rules", "--format", "json"])
    rules = json.loads(result.stdout)
    by_code = {r["code"]: r for r in rules}
    assert by_code["SL102"] == {
        "code": "SL102", "name": "create-index-non-concurrently", "family": "locks", "severity": "error",
        "preset": "default", "enabled_by_default": True, "fix": "safe", "summary": by_code["SL102"]["summary"],
    }
    assert (by_code["SL301"]["preset"], by_code["SL010"]["preset"], by_code["SL402"]["preset"]) == \
        ("tenancy", "guide", "guide")
    assert by_code["SL105"]["fix"] == "unsafe" and by_code["SL201"]["fix"] is None
    text = runner.invoke(app, ["rules"]).stdout
    assert "SL201" in text and "drop-column" in text


def test_explain_by_code_and_name(project: Path) -> None:
    by_code = runner.invoke(app, ["explain", "SL102"])
    assert by_code.exit_code == 0
    assert by_code.stdout.startswith("# SL102 create-index-non-concurrently")
    assert runner.invoke(app, ["explain", "create-index-non-concurrently"]).stdout == by_code.stdout
    unknown = runner.invoke(app, ["explain", "SL999"])
    assert unknown.exit_code == 2 and "SL999" in unknown.stderr


def test_init_writes_a_valid_config(project: Path) -> None:
    (project / "schemalint.toml").unlink()
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0
    assert (project / "schemalint.toml").is_file()
    assert runner.invoke(app, ["init"]).exit_code == 2  # does not overwrite
    write(project / "m.sql", GOOD)
    assert runner.invoke(app, ["check", "m.sql"]).exit_code == 0


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("schemalint ")


def _script() -> list[str]:
    exe = shutil.which("schemalint")
    return [exe] if exe else [sys.executable, "-m", "schemalint"]


def test_console_script_and_module_run_for_real(tmp_path: Path) -> None:
    quiet_config(tmp_path)
    write(tmp_path / "m" / "1.sql", BAD)
    env = {**os.environ, "NO_COLOR": "1"}
    for command in (_script(), [sys.executable, "-m", "schemalint"]):
        proc = subprocess.run([*command, "check", "--format", "concise", "m"], cwd=tmp_path,
                              capture_output=True, text=True, env=env, check=False)
        assert proc.returncode == 1, proc.stderr
        assert proc.stdout.startswith("m/1.sql:1:1: SL102 [error]")
        assert "Traceback" not in proc.stderr


def test_demo_fixtures_show_findings() -> None:
    proc = subprocess.run([*_script(), "check", "--format", "json", "fixtures/"], cwd=REPO,
                          capture_output=True, text=True, check=False)
    payload = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert payload["summary"]["errors"] >= 3


def test_github_step_summary_is_compact_and_folded(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = project / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    write(project / "m.sql", BAD + "ALTER TABLE accounts DROP COLUMN x;\n")
    runner.invoke(app, ["check", "--format", "github", "m.sql"])
    text = summary.read_text()
    assert text.startswith("### schemalint: 2 errors, 0 warnings in 1 of 1 file checked")
    assert "| SL102 create-index-non-concurrently | error | 1 |" in text
    assert "<details><summary><code>m.sql</code> — 2 findings</summary>" in text


def test_config_found_from_the_checked_path_and_stdin_filename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    (repo / "db").mkdir(parents=True)
    (repo / "pyproject.toml").write_text('[tool.schemalint]\nignore = ["SL102", "SL01", "SL3", "SL4", "SL114"]\n')
    (repo / "db" / "m.sql").write_text(BAD)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert runner.invoke(app, ["check", str(repo / "db" / "m.sql")]).exit_code == 0
    result = runner.invoke(app, ["check", "-", "--stdin-filename", str(repo / "db" / "x.sql")], input=BAD)
    assert result.exit_code == 0


def test_fixtures_report_matches_the_golden_file() -> None:
    """The demo run, line for line: a changed message or location shows up here first."""
    golden = REPO / "tests" / "golden" / "fixtures.concise.txt"
    proc = subprocess.run([*_script(), "check", "--no-cache", "--format", "concise", "fixtures"], cwd=REPO,
                          capture_output=True, text=True, check=False, env={**os.environ, "NO_COLOR": "1"})
    assert proc.stdout == golden.read_text(encoding="utf-8"), (
        "fixtures report changed; if intended, regenerate with: "
        "schemalint check --no-cache -f concise fixtures > tests/golden/fixtures.concise.txt")


def test_walking_skips_tool_folders(project: Path) -> None:
    write(project / "m" / "node_modules" / "pkg" / "x.sql", BAD)
    write(project / "m" / ".venv" / "y.sql", BAD)
    write(project / "m" / "1.sql", GOOD)
    assert runner.invoke(app, ["check", "m"]).exit_code == 0
    assert runner.invoke(app, ["check", "m/node_modules/pkg/x.sql"]).exit_code == 1


def test_single_named_files_get_their_folders_history(project: Path) -> None:
    (project / "schemalint.toml").write_text('ignore = ["SL01", "SL3", "SL4"]\nhistory-paths = ["m"]\n'
                                             '[locks]\nrunner-sets-lock-timeout = true\n')
    write(project / "m" / "1_create.sql", "CREATE TABLE t (name varchar(50), n int);\n")
    write(project / "m" / "2_widen.sql", "ALTER TABLE t ALTER COLUMN name TYPE varchar(100);\n")
    write(project / "m" / "3_later.sql", "ALTER TABLE t DROP COLUMN n;\n")
    # pre-commit passes only the changed file: the earlier files still give the old type (no SL204)
    code, payload = run_json("m/2_widen.sql")
    assert code == 0 and payload["findings"] == [] and payload["summary"]["files"] == 1
    code, payload = run_json("--no-history", "m/2_widen.sql")
    assert [f["code"] for f in payload["findings"]] == ["SL204"]  # type: ignore[union-attr]
    assert "old type unknown" in payload["findings"][0]["message"]  # type: ignore[index]
    # a history file's findings are never reported, later files are not read
    code, payload = run_json("./m/2_widen.sql")
    assert payload["findings"] == []
    # without history-paths, the file's own migrations folder is its history (the default since snapshots
    # make it cheap); a file at the top of the project has none
    quiet_config(project)
    code, payload = run_json("m/2_widen.sql")
    assert payload["findings"] == []
    write(project / "top.sql", "ALTER TABLE t ALTER COLUMN name TYPE varchar(100);\n")
    code, payload = run_json("top.sql")
    assert [f["code"] for f in payload["findings"]] == ["SL204"]  # type: ignore[union-attr]
