"""What a new user hits first, each with a test: families by name, a warning when nothing was checked,
symlinked folders, --since errors, column spans, init's keys, -h/--quiet/--watch/completion, the markdown PR
comment, and verify loading where `pwd` does not exist."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from schemalint.cli import app
from schemalint.config import _TOP_LEVEL, OPTION_TABLES, STARTER_CONFIG, settings_from_table
from schemalint.engine import RunResult
from schemalint.findings import Finding, Severity, Span
from schemalint.report import markdown
from schemalint.rules import FAMILIES, all_rules, family_of
from tests.conftest import REPO, lint_files

runner = CliRunner()
BAD = "CREATE INDEX idx_accounts_name ON accounts (account_name);\n"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_families_select_and_ignore_by_name() -> None:
    sql = ("CREATE TABLE gadgets (id int);\nGRANT SELECT ON gadgets TO PUBLIC;\n"
           "CREATE INDEX idx_accounts_a ON accounts (a);\n")
    got = {f.code for f in lint_files({"20240201_000000_x.sql": sql}, {"ignore": ["tenancy"]}, core_only=False)
           .findings}
    assert "SL306" in got and "SL102" in got  # security (same SL3 prefix) and locks stay
    assert not {c for c in got if family_of(c) == "tenancy"}
    only = {f.code for f in lint_files({"20240201_000000_x.sql": sql}, {"select": ["security"]}).findings}
    assert only == {"SL306"}
    assert family_of("SL305") == "tenancy" and family_of("SL307") == "security" and family_of("SL013") == "history" and family_of("SL012") == "file"
    for code in all_rules():
        assert family_of(code) in FAMILIES, code


def test_a_family_is_a_valid_config_token(here: Path) -> None:
    (here / "schemalint.toml").write_text('ignore = ["conventions", "file"]\n[per-file-ignores]\n"*.sql" = ["tenancy"]\n')
    (here / "m.sql").write_text(BAD)
    result = runner.invoke(app, ["check", "--format", "json", "m.sql"])
    assert result.exit_code == 1, result.stderr
    codes = {f["code"] for f in json.loads(result.stdout)["findings"]}
    assert "SL102" in codes and not {c for c in codes if c.startswith(("SL4", "SL01", "SL30"))}
    listing = runner.invoke(app, ["rules", "--format", "json"])
    assert {r["code"]: r["family"] for r in json.loads(listing.stdout)}["SL306"] == "security"


def test_zero_files_in_a_named_path_is_an_error(here: Path) -> None:
    (here / "db").mkdir()
    (here / "db" / "notes.txt").write_text("not sql")
    result = runner.invoke(app, ["check", "db"])
    assert result.exit_code == 2  # a typo'd path must not pass a CI gate
    assert "no migration files found in db (include: *.sql): nothing was checked" in result.stderr
    assert runner.invoke(app, ["check", "missing"]).exit_code == 2
    (here / "db" / "1_x.mysql.up.sql").write_text("CREATE TABLE `t` (id int);")
    other = runner.invoke(app, ["check", "db"])
    assert other.exit_code == 2 and "skipped 1 file for other databases (mysql)" in other.stderr


def test_since_edges(here: Path) -> None:
    assert runner.invoke(app, ["check", "--since", "", "."]).exit_code == 2
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=here, check=True)
    (here / "db").mkdir()
    (here / "db" / "1_a.sql").write_text(BAD)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x.invalid"}
    subprocess.run(["git", "add", "-A"], cwd=here, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "x"], cwd=here, check=True, env={**os.environ, **env})
    nothing = runner.invoke(app, ["check", "--since", "main", "db"])
    assert nothing.exit_code == 0, nothing.stderr
    assert "no migration changed since main (1 read as history)" in nothing.stderr


def test_symlinked_folders_are_followed_once(here: Path) -> None:
    real = here / "shared_migrations"
    real.mkdir()
    (real / "20240101_000000_a.sql").write_text(BAD)
    (here / "db").mkdir()
    (here / "db" / "linked").symlink_to(real, target_is_directory=True)
    (real / "loop").symlink_to(here / "db", target_is_directory=True)  # a loop back up
    result = runner.invoke(app, ["check", "--format", "json", "--select", "SL102", "db"])
    findings = json.loads(result.stdout)["findings"]
    assert [f["file"] for f in findings] == ["db/linked/20240101_000000_a.sql"], findings


def test_since_errors_say_what_is_wrong(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (here / "m.sql").write_text(BAD)
    outside = runner.invoke(app, ["check", "--since", "main", "m.sql"])
    assert outside.exit_code == 2 and "is not inside a git repository" in outside.stderr
    subprocess.run(["git", "init", "-q"], cwd=here, check=True)
    monkeypatch.setenv("CI", "true")
    missing = runner.invoke(app, ["check", "--since", "origin/main", "m.sql"])
    assert missing.exit_code == 2
    assert "no commit 'origin/main' in this repository" in missing.stderr and "fetch-depth: 0" in missing.stderr


def test_a_column_finding_spans_the_column_only() -> None:
    sql = "CREATE TABLE t (\n  id bigint PRIMARY KEY,\n  payload json NOT NULL,\n  at timestamp\n);\n"
    found = {f.code: f.span for f in lint_files({"20240201_000000_x.sql": sql}, {"select": ["SL403", "SL407"]})
             .findings}
    assert found["SL407"] == Span(3, 3, 3, 23)  # "payload json NOT NULL", not the whole CREATE TABLE
    assert found["SL403"] == Span(4, 3, 4, 14)


def test_recipes_use_the_primary_key_the_history_knows() -> None:
    files = {"20240101_000000_a.sql": "CREATE TABLE orders (order_id bigint PRIMARY KEY, total int);",
             "20240201_000000_b.sql": "ALTER TABLE orders ADD COLUMN ref uuid DEFAULT gen_random_uuid();"}
    finding = next(f for f in lint_files(files).findings if f.code == "SL110")
    assert "WHERE order_id IN (SELECT order_id FROM orders" in finding.help and "<key>" not in finding.help


def _config_keys() -> set[str]:
    return set(_TOP_LEVEL) | {f"{table}.{key}" for table, keys in OPTION_TABLES.items() for key in keys}


def _documented_keys(toml_text: str) -> set[str]:
    """Keys of a TOML text, commented-out ones included (``# key = value`` and ``# [table]``)."""
    keys: set[str] = set()
    table = ""
    for raw in toml_text.splitlines():
        line = raw.lstrip("# ").rstrip()
        header = re.match(r"^\[(?:tool\.schemalint\.?)?([a-z-]*)\]", line)
        if header:
            table = header.group(1)
            if table and table not in OPTION_TABLES:
                keys.add(table)  # a table-valued top-level key: [per-file-ignores], [severity]
                table = "<value-table>"
            continue
        key = re.match(r"^([a-z][a-z-]*)\s*=", line)
        if key and table != "<value-table>":
            keys.add(f"{table}.{key.group(1)}" if table else key.group(1))
    return keys


def test_init_and_the_readme_list_every_config_key() -> None:
    assert _documented_keys(STARTER_CONFIG) == _config_keys()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"### Configuration.*?```toml\n(.*?)```", readme, re.S)
    assert block is not None
    assert _documented_keys(block.group(1)) == _config_keys()
    # the starter file is valid config as written, and its version range is the CLI's
    settings_from_table(tomllib.loads(STARTER_CONFIG), "<init>")
    assert "(10-18)" in STARTER_CONFIG


def test_short_help_quiet_and_completion(here: Path) -> None:
    assert runner.invoke(app, ["-h"]).exit_code == 0
    assert "--quiet" in runner.invoke(app, ["check", "-h"]).stdout
    (here / "m.sql").write_text(BAD)
    quiet = runner.invoke(app, ["check", "--quiet", "--select", "SL102", "m.sql"])
    assert quiet.exit_code == 1 and "SL102" in quiet.stdout
    assert "Found" not in quiet.stdout and "runner:" not in quiet.stdout
    clean = runner.invoke(app, ["check", "-q", "--select", "SL201", "m.sql"])
    assert clean.exit_code == 0 and clean.stdout == ""
    completion = subprocess.run([sys.executable, "-m", "schemalint", "--show-completion", "bash"],
                                capture_output=True, text=True, check=False, env={**os.environ, "SHELL": "/bin/bash"})
    assert completion.returncode == 0 and "complete" in completion.stdout


def test_watch_checks_again_when_a_file_changes(tmp_path: Path) -> None:
    (tmp_path / "schemalint.toml").write_text('select = ["SL102"]\n')
    migration = tmp_path / "m.sql"
    migration.write_text("SELECT 1;\n")
    proc = subprocess.Popen([sys.executable, "-m", "schemalint", "check", "--watch", "--no-cache", "-f", "concise",
                             "."], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        assert proc.stderr is not None and proc.stdout is not None
        while "watching" not in proc.stderr.readline():
            assert time.monotonic() < deadline, "the watcher did not start"
        time.sleep(0.5)
        migration.write_text(BAD)
        line = proc.stdout.readline()
        while "SL102" not in line:
            assert time.monotonic() < deadline, "no second run after the change"
            line = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def _finding(i: int, file: str) -> Finding:
    return Finding("SL102", "create-index-non-concurrently", Severity.ERROR, file, Span(i, 1, i, 5),
                   f"CREATE INDEX idx_{i} without CONCURRENTLY " + "x" * 200, "Build it without blocking writes:\nCREATE INDEX CONCURRENTLY idx_a ON accounts (a);\n" * 3)


def test_markdown_comment_stays_under_the_limit_and_says_what_is_left_out() -> None:
    findings = [_finding(i, f"db/{i % 7:02d}.sql") for i in range(1, 2000)]
    result = RunResult(findings=findings, files=7)
    text = markdown.render(result)
    assert len(text) <= markdown.GITHUB_COMMENT_LIMIT
    shown = text.count("- **SL102**")
    assert 0 < shown < len(findings)
    assert f"… {len(findings) - shown} more findings not shown" in text
    assert text.startswith("### schemalint: 1999 errors, 0 warnings in 7 of 7 files checked")
    assert "| SL102 create-index-non-concurrently | error | 1999 |" in text
    assert text == markdown.render(RunResult(findings=list(reversed(findings)), files=7))  # deterministic
    small = markdown.render(RunResult(findings=findings[:3], files=7))
    assert "not shown" not in small and small.count("<details>") == 3 and "```sql" in small


def test_markdown_format_from_the_command_line(here: Path) -> None:
    (here / "m.sql").write_text(BAD)
    result = runner.invoke(app, ["check", "--format", "markdown", "--select", "SL102", "m.sql"])
    assert result.exit_code == 1
    assert "<details><summary><code>m.sql</code> — 1 finding</summary>" in result.stdout
    assert "CREATE INDEX CONCURRENTLY idx_accounts_name ON accounts (account_name);" in result.stdout


def test_verify_loads_where_pwd_does_not_exist() -> None:
    code = ("import sys; sys.modules['pwd'] = None\n"
            "import schemalint.verify.server, schemalint.verify.command, schemalint.cli\n"
            "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.stdout.strip() == "ok", proc.stderr


def test_init_names_the_migration_folders_and_prints_the_hook(here: Path) -> None:
    (here / "db" / "migrations").mkdir(parents=True)
    (here / "db" / "migrations" / "20240101_000000_a.sql").write_text("SELECT 1;\n")
    (here / "db" / "seeds").mkdir()
    (here / "db" / "seeds" / "users.sql").write_text("INSERT INTO users VALUES (1);\n")
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.stderr
    assert 'history-paths = ["db/migrations"]' in (here / "schemalint.toml").read_text()
    assert "files: ^(db/migrations)/" in result.stdout and 'preset = "default"' in (here / "schemalint.toml").read_text()
