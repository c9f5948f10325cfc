"""The GitHub Action (action.yml): its shell steps run here as GitHub would run them (the same environment
variables), without network: install from this checkout, then the PR gate against the base branch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

ACTION = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}


def test_action_declares_its_inputs_and_runs_the_scripts() -> None:
    assert set(ACTION["inputs"]) >= {"paths", "since", "format", "sarif", "version"}
    assert ACTION["runs"]["using"] == "composite"
    scripts = [s["run"] for s in ACTION["runs"]["steps"] if "run" in s]
    for script in scripts:
        name = script.split("$GITHUB_ACTION_PATH/")[1].rstrip('"')
        assert (REPO / name).is_file(), name
    assert any(s.get("uses", "").startswith("github/codeql-action/upload-sarif") for s in ACTION["runs"]["steps"])


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_check_step_gates_only_what_the_pull_request_changed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "migrations").mkdir(parents=True)
    (repo / "schemalint.toml").write_text('select = ["SL102"]\n')
    (repo / "migrations" / "20240101_000000_old.sql").write_text("CREATE INDEX idx_a ON accounts (a);\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")  # what actions/checkout leaves for the base
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "migrations" / "20240201_000000_new.sql").write_text("CREATE INDEX idx_b ON accounts (b);\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "feature")
    output = tmp_path / "github_output"
    summary = tmp_path / "summary.md"
    env = {**os.environ, "GITHUB_BASE_REF": "main", "GITHUB_OUTPUT": str(output), "GITHUB_WORKSPACE": str(repo),
           "GITHUB_STEP_SUMMARY": str(summary), "INPUT_PATHS": "migrations", "INPUT_SINCE": "",
           "INPUT_FORMAT": "github", "INPUT_SARIF": "true", "INPUT_ARGS": "",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["bash", str(REPO / "action" / "check.sh")], cwd=repo, env=env, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 1, proc.stderr
    annotations = [line for line in proc.stdout.splitlines() if line.startswith("::")]
    assert len(annotations) == 1 and "file=migrations/20240201_000000_new.sql" in annotations[0]
    assert "sarif-file=" in output.read_text()
    sarif = json.loads((repo / "schemalint.sarif").read_text())
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert uris == {"migrations/20240201_000000_new.sql"}
    assert summary.read_text().startswith("### schemalint: 1 error")
    # since "none": the whole history is judged
    everything = subprocess.run(["bash", str(REPO / "action" / "check.sh")], cwd=repo, capture_output=True,
                                text=True, check=False, env={**env, "INPUT_SINCE": "none", "INPUT_SARIF": "false"})
    assert sum(1 for line in everything.stdout.splitlines() if line.startswith("::error")) == 2


@pytest.mark.slow
def test_install_step_installs_this_revision_into_its_own_venv(tmp_path: Path) -> None:
    github_path = tmp_path / "github_path"
    env = {**os.environ, "RUNNER_TEMP": str(tmp_path), "GITHUB_PATH": str(github_path),
           "GITHUB_ACTION_PATH": str(REPO), "INPUT_VERSION": "",
           # reuse what is installed here instead of downloading it again; a runner starts empty
           "SCHEMALINT_VENV_ARGS": "--system-site-packages"}
    proc = subprocess.run(["bash", str(REPO / "action" / "install.sh")], env=env, capture_output=True, text=True,
                          check=False, timeout=600)
    assert proc.returncode == 0, proc.stderr
    venv_bin = Path(github_path.read_text().strip())
    assert venv_bin == tmp_path / "schemalint-venv" / "bin"
    version = subprocess.run([str(venv_bin / "schemalint"), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("schemalint ")
