"""The hook in .pre-commit-hooks.yaml works through pre-commit's own try-repo (slow: it builds a venv)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)


@pytest.mark.slow
def test_pre_commit_try_repo(tmp_path: Path) -> None:
    if shutil.which("pre-commit") is None:
        pytest.fail("pre-commit is a dev dependency and must be installed")
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}
    # pre-commit's try-repo clones a git repository: snapshot the working tree into one
    hook_repo = tmp_path / "hook-repo"
    shutil.copytree(REPO, hook_repo, ignore=shutil.ignore_patterns(
        ".git", ".venv", "*.egg-info", "__pycache__", ".schemalint_cache", ".mypy_cache", ".ruff_cache", ".pytest_cache"))
    assert _run(["git", "init", "-q"], hook_repo, env).returncode == 0
    assert _run(["git", "add", "-A"], hook_repo, env).returncode == 0
    assert _run(["git", "commit", "-q", "-m", "snapshot"], hook_repo, env).returncode == 0

    work = tmp_path / "work"
    work.mkdir()
    _run(["git", "init", "-q"], work, env)
    (work / "bad.sql").write_text("CREATE INDEX idx_a ON accounts (a);\n")
    (work / "good.sql").write_text("CREATE INDEX CONCURRENTLY idx_b ON accounts (b);\n")
    (work / "notes.txt").write_text("CREATE INDEX idx_c ON accounts (c);\n")
    _run(["git", "add", "-A"], work, env)
    proc = _run(["pre-commit", "try-repo", str(hook_repo), "schemalint", "--all-files", "--verbose"], work, env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "bad.sql:1:1: SL102" in output
    assert "good.sql" not in output.split("schemalint")[-1] or "good.sql:" not in output
    assert "notes.txt" not in output  # types: [sql]
    # only the changed file is passed, and its folder's earlier migrations are still its history: widening a
    # varchar(50) is known to be safe (no false SL204 "old type unknown")
    (work / "db").mkdir()
    (work / "db" / "20240101_000000_create.sql").write_text("CREATE TABLE t (name varchar(50));\n")
    (work / "db" / "20240201_000000_widen.sql").write_text("ALTER TABLE t ALTER COLUMN name TYPE varchar(100);\n")
    _run(["git", "add", "-A"], work, env)
    proc = _run(["pre-commit", "try-repo", str(hook_repo), "schemalint", "--files", "db/20240201_000000_widen.sql",
                 "--verbose"], work, env)
    output = proc.stdout + proc.stderr
    assert "SL204" not in output, output
    # the Python-migrations hook: the changed migration is judged after the whole project's history, rendered by
    # the project's interpreter (named in the config: the hook's own environment has no Django)
    project = work / "shop_site"
    shutil.copytree(REPO / "fixtures" / "frameworks" / "django_shop", project)
    with (project / "schemalint.toml").open("a") as config:
        config.write(f'python = "{sys.executable}"\n')
    _run(["git", "add", "-A"], work, env)
    proc = _run(["pre-commit", "try-repo", str(hook_repo), "schemalint-python", "--files",
                 "shop_site/shop/migrations/0007_remove_order_account.py", "shop_site/shop/migrations/__init__.py",
                 "--verbose"], work, env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "shop_site/shop/migrations/0007_remove_order_account.py:" in output and "SL201" in output, output
    assert "0002_account_region.py:" not in output  # history, not judged
    assert "not a migration of this project, not checked: shop_site/shop/migrations/__init__.py" in output
