"""Items 5 and 6: what a run reads stays inside the project. History for a named file never walks the disk (a
file at /, --stdin-filename /x.sql), never follows a symlink out of the project and stops at max-history-files;
a migration that is a symlink to a file outside the project is SL002, and its text is never printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


def run(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "schemalint", "check", "--no-cache", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, check=False, timeout=60)


def test_a_buffer_named_at_the_filesystem_root_reads_no_history(tmp_path: Path) -> None:
    started = time.monotonic()
    proc = run(tmp_path, "--format", "json", "--stdin-filename", "/x.sql", "-",
               stdin="CREATE INDEX idx_a ON accounts (a);\n")
    assert time.monotonic() - started < 20
    assert proc.returncode == 1, proc.stderr
    assert [f["code"] for f in json.loads(proc.stdout)["findings"]] == ["SL102", "SL114"]


def test_history_never_follows_a_symlink_out_of_the_project(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "001_secret.sql").write_text("CREATE TABLE secrets (token text);\n")
    project = tmp_path / "project"
    (project / "migrations").mkdir(parents=True)
    (project / ".git").mkdir()  # the project's root
    (project / "migrations" / "linked").symlink_to(outside, target_is_directory=True)
    (project / "migrations" / "002_b.sql").write_text("CREATE INDEX idx_secrets ON secrets (token);\n")
    proc = run(project, "--format", "json", "migrations/002_b.sql")
    findings = json.loads(proc.stdout)["findings"]
    # secrets is not known from the history (the linked folder was not read): it is an existing table
    assert [f["code"] for f in findings] == ["SL102", "SL114"]
    whole = run(project, "--format", "json", "migrations")
    assert "not followed: 1 symlinked folder that leads outside the project" in " ".join(
        json.loads(whole.stdout)["summary"].get("notes", []))


def test_history_stops_at_max_history_files_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    for number in range(30):
        (tmp_path / "m" / f"{number:03d}_t.sql").write_text(f"CREATE TABLE t{number} (id int);\n")
    (tmp_path / "m" / "999_last.sql").write_text("CREATE INDEX idx_t1 ON t1 (id);\n")
    (tmp_path / "schemalint.toml").write_text("max-history-files = 10\n")
    proc = run(tmp_path, "--format", "json", "m/999_last.sql")
    payload = json.loads(proc.stdout)
    assert any("read the first 10 files of m only (max-history-files)" in n for n in payload["summary"]["notes"])


def test_a_migration_linked_to_a_file_outside_the_project_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY----- not sql at all\n")
    project = tmp_path / "project"
    (project / "migrations").mkdir(parents=True)
    (project / ".git").mkdir()
    (project / "migrations" / "001_innocent.sql").symlink_to(secret)
    for fmt in ("text", "json", "sarif", "markdown", "github"):
        proc = run(project, "--format", fmt, "migrations")
        assert "PRIVATE KEY" not in proc.stdout + proc.stderr, fmt
    payload = json.loads(run(project, "--format", "json", "migrations").stdout)
    assert [(f["code"], f["message"]) for f in payload["findings"]] == [
        ("SL002", "a symlink that points outside the project: not read")]
    assert os.path.islink(project / "migrations" / "001_innocent.sql")


def test_a_named_python_file_finds_its_framework_only_inside_its_project(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from schemalint.sources.frameworks import detect

    outer = tmp_path / "outer"  # a Django project above the repository holding the file: not this file's project
    (outer / "shop" / "migrations").mkdir(parents=True)
    (outer / "manage.py").write_text("")
    (outer / "shop" / "migrations" / "0001_initial.py").write_text("")
    repo = outer / "tools"
    (repo / ".git").mkdir(parents=True)
    (repo / "migrations").mkdir()
    script = repo / "migrations" / "0002_x.py"
    script.write_text("print('not a migration of any framework here')\n")
    monkeypatch.chdir(outer)  # run from the outer project: the file's own project is still the repository
    assert detect([str(script)]) is None
    assert detect([str(outer / "shop" / "migrations" / "0001_initial.py")]) == ("django", "manage.py")
