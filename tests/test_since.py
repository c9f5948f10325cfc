"""--since REF in a real temporary git repository."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from schemalint.cli import app
from tests.conftest import quiet_config

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def test_since_reports_only_changed_files_but_reads_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path
    git(repo, "init", "-q", "-b", "main")
    m = repo / "migrations"
    m.mkdir()
    (m / "20240101_000000_create.sql").write_text("CREATE TABLE t (a int);\nALTER TABLE old DROP COLUMN x;\n")
    (m / "20240102_000000_index.sql").write_text("CREATE INDEX idx_old ON old (a);\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    # a modified file, a new committed file and an untracked file
    (m / "20240102_000000_index.sql").write_text("CREATE INDEX idx_old ON old (a);\nCREATE INDEX idx_old2 ON old (b);\n")
    (m / "20240103_000000_more.sql").write_text("CREATE INDEX idx_t ON t (a);\n")
    git(repo, "checkout", "-q", "-b", "feature")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "feature")
    (m / "20240104_000000_untracked.sql").write_text("ALTER TABLE t DROP COLUMN a;\n")
    monkeypatch.chdir(repo)
    quiet_config(repo)
    result = CliRunner().invoke(app, ["check", "--since", "main", "--format", "json", "migrations"])
    payload = json.loads(result.stdout)
    files = sorted({(f["file"].rsplit("/", 1)[-1], f["code"], f["line"]) for f in payload["findings"]})
    assert files == [
        ("20240102_000000_index.sql", "SL102", 1),
        ("20240102_000000_index.sql", "SL102", 2),
        # t was created by an earlier (unreported) file: still an existing table here
        ("20240103_000000_more.sql", "SL102", 1),
        ("20240104_000000_untracked.sql", "SL201", 1),
    ]
    assert result.exit_code == 1


def test_since_with_a_bad_ref_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "a.sql").write_text("SELECT 1;\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["check", "--since", "no-such-ref", "a.sql"])
    assert result.exit_code == 2 and "no-such-ref" in result.stderr
