"""The daemon (daemon.py, daemon_client.py): `check --daemon` gives byte-for-byte the output and exit code of an
in-process run, falls back to one when no daemon (or another version) answers, reads standard input, and only
answers through a folder that is the user's alone."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemalint import daemon_client

BAD = "CREATE INDEX idx_accounts_name ON accounts (name);\n"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    values = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    yield values
    subprocess.run([sys.executable, "-m", "schemalint", "daemon", "stop"], env=values, capture_output=True,
                   check=False, timeout=60)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "migrations").mkdir(parents=True)
    (root / "schemalint.toml").write_text("[locks]\nrunner-sets-lock-timeout = true\n")
    (root / "migrations" / "001_accounts.sql").write_text("CREATE TABLE accounts (id bigint PRIMARY KEY, name text);\n")
    (root / "migrations" / "002_index.sql").write_text(BAD)
    return root


def cli(root: Path, env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "schemalint", *args], cwd=root, env=env, input=stdin,
                          capture_output=True, text=True, check=False, timeout=120)


def test_daemon_output_is_the_in_process_output(project: Path, env: dict[str, str]) -> None:
    started = cli(project, env, "daemon", "start")
    assert started.returncode == 0 and "started" in started.stdout, started.stderr
    assert "running" in cli(project, env, "daemon", "status").stdout
    for args in (["--format", "concise"], ["--format", "json"], ["--format", "text", "--color"], ["--exit-zero"]):
        alone = cli(project, env, "check", "--no-cache", "migrations", *args)
        through = cli(project, env, "check", "--daemon", "--no-cache", "migrations", *args)
        assert (through.returncode, through.stdout, through.stderr) == (alone.returncode, alone.stdout, alone.stderr)
    piped = cli(project, env, "check", "--daemon", "--no-cache", "--format", "concise", "--stdin-filename",
                "003_x.sql", "-", stdin=BAD)
    assert piped.returncode == 1 and "003_x.sql:1:1: SL102" in piped.stdout
    # the config can ask for it too
    (project / "schemalint.toml").write_text("daemon = true\n[locks]\nrunner-sets-lock-timeout = true\n")
    assert cli(project, env, "check", "--no-cache", "migrations").returncode == 1
    stopped = cli(project, env, "daemon", "stop")
    assert "stopped" in stopped.stdout
    assert cli(project, env, "daemon", "status").returncode == 1


def test_without_a_daemon_the_check_runs_in_process(project: Path, env: dict[str, str]) -> None:
    alone = cli(project, env, "check", "--no-cache", "--format", "concise", "migrations")
    through = cli(project, env, "check", "--daemon", "--no-cache", "--format", "concise", "migrations")
    assert (through.returncode, through.stdout) == (alone.returncode, alone.stdout) and "SL102" in alone.stdout


def test_another_version_is_not_asked(project: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli(project, env, "daemon", "start").returncode == 0
    for name in ("XDG_RUNTIME_DIR", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.chdir(project)
    assert daemon_client.run(["check", "--no-cache", "migrations"], "not-this-version") is None


def test_a_folder_others_can_enter_is_never_used(project: Path, env: dict[str, str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli(project, env, "daemon", "start").returncode == 0
    folder = Path(env["XDG_RUNTIME_DIR"]) / "schemalint"
    os.chmod(folder, 0o755)
    try:
        monkeypatch.setenv("XDG_RUNTIME_DIR", env["XDG_RUNTIME_DIR"])
        assert daemon_client.connect() is None
        assert "not running" in cli(project, env, "daemon", "status").stdout
    finally:
        os.chmod(folder, 0o700)
