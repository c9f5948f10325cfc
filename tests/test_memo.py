"""The whole-run memo (memo.py): a run whose inputs did not change replays its output byte for byte without
importing the engine; a change to anything that decides the result — a migration, a history file, a runner's
sidecar file, the config, an argument, the version — runs it again; a tampered memo is never replayed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from schemalint import memo

BAD = "CREATE INDEX idx_accounts_name ON accounts (name);\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "migrations" / "20240101000000_accounts").mkdir(parents=True)
    (root / "schemalint.toml").write_text('[locks]\nrunner-sets-lock-timeout = true\n')
    (root / "migrations" / "20240101000000_accounts" / "up.sql").write_text(
        "CREATE TABLE accounts (id bigint PRIMARY KEY, name text);\n")
    (root / "migrations" / "20240201000000_index").mkdir()
    (root / "migrations" / "20240201000000_index" / "up.sql").write_text(BAD)
    return root


def run(root: Path, *args: str) -> tuple[int, str, bool]:
    """(exit code, stdout, whether the run was replayed from the memo: the engine was never imported)."""
    env = {**os.environ, "XDG_CACHE_HOME": str(root.parent / "user-cache")}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "schemalint", "check", *args], cwd=root,
                          capture_output=True, text=True, check=False, env=env, timeout=120)
    replayed = "schemalint.engine" not in proc.stderr
    return proc.returncode, proc.stdout, replayed


def test_an_unchanged_run_is_replayed_byte_for_byte(project: Path) -> None:
    first = run(project, "migrations", "--format", "concise")
    assert first[0] == 1 and "SL102" in first[1] and not first[2]
    second = run(project, "migrations", "--format", "concise")
    assert second == (first[0], first[1], True)


def test_any_input_change_runs_again(project: Path) -> None:
    run(project, "migrations", "--format", "concise")
    assert run(project, "migrations", "--format", "concise")[2]
    # a history file's content (same size, so only mtime/ctime tell)
    history = project / "migrations" / "20240101000000_accounts" / "up.sql"
    history.write_text(history.read_text().replace("name text", "nome text"))
    _code, out, replayed = run(project, "migrations", "--format", "concise")
    assert not replayed and "SL102" in out
    assert run(project, "migrations", "--format", "concise")[2]
    # a runner's sidecar file appears (diesel's metadata.toml: the file runs outside a transaction)
    (project / "migrations" / "20240201000000_index" / "metadata.toml").write_text("run_in_transaction = false\n")
    assert not run(project, "migrations", "--format", "concise")[2]
    assert run(project, "migrations", "--format", "concise")[2]
    # a new migration
    (project / "migrations" / "20240301000000_drop").mkdir()
    (project / "migrations" / "20240301000000_drop" / "up.sql").write_text("DROP TABLE accounts;\n")
    _code, out, replayed = run(project, "migrations", "--format", "concise")
    assert not replayed and "SL205" in out
    # the config
    (project / "schemalint.toml").write_text('ignore = ["SL205"]\n[locks]\nrunner-sets-lock-timeout = true\n')
    _code, out, replayed = run(project, "migrations", "--format", "concise")
    assert not replayed and "SL205" not in out
    # an argument
    assert not run(project, "migrations", "--format", "json")[2]
    assert run(project, "migrations", "--format", "json")[2]


def test_a_config_created_above_the_working_folder_runs_again(project: Path) -> None:
    (project / "schemalint.toml").unlink()  # discovery now goes up from the working folder
    run(project, "migrations", "--format", "concise")
    assert run(project, "migrations", "--format", "concise")[2]
    (project.parent / "pyproject.toml").write_text('[tool.schemalint]\nignore = ["SL102"]\n')
    _code, out, replayed = run(project, "migrations", "--format", "concise")
    assert not replayed and "SL102" not in out


def test_runs_that_must_not_be_replayed(project: Path) -> None:
    for args in (["--no-cache"], ["--fix"], ["-o", "report.txt"]):
        run(project, "migrations", *args)
        assert not run(project, "migrations", *args)[2], args


def test_a_tampered_memo_is_ignored(project: Path) -> None:
    first = run(project, "migrations", "--format", "concise")
    folder = project.parent / "user-cache" / "schemalint" / "runs"
    (stored,) = [p for p in folder.iterdir() if not p.name.startswith(".")]
    data = bytearray(stored.read_bytes())
    data[-2] = ord("X")  # the report's text, under the signature
    stored.write_bytes(bytes(data))
    again = run(project, "migrations", "--format", "concise")
    assert again == (first[0], first[1], False)


def test_the_key_covers_the_version_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["check", "migrations"]
    key = memo._key(argv)
    import schemalint

    monkeypatch.setattr(schemalint, "__version__", "0.0.0-other")
    assert memo._key(argv) != key
    monkeypatch.undo()
    monkeypatch.setenv("NO_COLOR", "1")
    assert memo._key(argv) != key


@pytest.mark.parametrize("argv", [["check", "-"], ["check", "m", "--since", "main"], ["check", "m", "--fix"],
                                  ["verify", "m"], ["check", "m", "--output-file=x"], []])
def test_what_is_never_memoised(argv: Any) -> None:
    assert not memo.memoisable(argv)
