"""Items 9 and 10: inputs that used to end in an internal error get one clear line naming the key or path (exit
2), and a report printed in a CI log can never issue a workflow command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from schemalint.cli import app
from schemalint.report.escape import visible_lines


def run(cwd: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "schemalint", "check", "--no-cache", *args], cwd=cwd, input=stdin,
                          capture_output=True, check=False, timeout=60)


def one_error_line(proc: subprocess.CompletedProcess[bytes]) -> str:
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, (proc.returncode, err)
    assert "Traceback" not in err and "internal error" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("schemalint: error:")]
    assert len(lines) == 1, err
    return lines[0]


def test_a_folder_that_cannot_be_read_is_sl002(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "001.sql").write_text("SELECT 1;\n")
    if os.geteuid() == 0:
        # root lists a 000 folder anyway (and nobody cannot run this interpreter): the listing is refused instead
        real_scandir = os.scandir

        def refusing(path: Any = ".") -> Any:
            if os.fspath(path).rstrip("/").endswith("locked"):
                raise PermissionError(13, "Permission denied", os.fspath(path))
            return real_scandir(path)

        monkeypatch.setattr(os, "scandir", refusing)
    monkeypatch.chdir(tmp_path)
    os.chmod(locked, 0)
    try:
        result = CliRunner().invoke(app, ["check", "--no-cache", "--format", "concise", "locked"])
    finally:
        os.chmod(locked, 0o755)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "SL002" in result.output and "cannot read folder: Permission denied" in result.output


def test_a_stdin_filename_that_is_not_utf8(tmp_path: Path) -> None:
    # SL010 (naming, a warning) judges the name: it used to crash on the undecodable byte
    proc = run(tmp_path, "--preset", "guide", "--format", "concise", "--stdin-filename", os.fsdecode(b"caf\xe9.sql"),
               "-", stdin=b"SELECT 1;\n")
    assert proc.returncode == 0 and b"SL010" in proc.stdout, proc.stderr
    assert b"Traceback" not in proc.stderr and b"internal error" not in proc.stderr


def test_a_config_nested_a_thousand_deep(tmp_path: Path) -> None:
    (tmp_path / "schemalint.toml").write_text("x = " + "[" * 1000 + "]" * 1000 + "\n")
    assert "invalid TOML: nested too deeply" in one_error_line(run(tmp_path, "."))


def test_a_max_file_size_beyond_64_bits(tmp_path: Path) -> None:
    (tmp_path / "schemalint.toml").write_text("max-file-size = 99999999999999999999999\n")
    assert "key 'max-file-size'" in one_error_line(run(tmp_path, "."))


def test_a_baseline_path_of_100000_characters(tmp_path: Path) -> None:
    (tmp_path / "schemalint.toml").write_text(f'baseline = "{"a" * 100_000}"\n')
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "001.sql").write_text("SELECT 1;\n")
    line = one_error_line(run(tmp_path, "m"))
    assert "baseline" in line and "File name too long" in line and len(line) < 400


def test_no_report_line_starts_a_workflow_command() -> None:
    lines = visible_lines("Run it on its own:\n  ::add-mask::secret\n::error file=x::boom")
    assert not [line for line in lines if line.lstrip().startswith("::")]
    assert lines[1].replace("\u200b", "") == "  ::add-mask::secret"


def test_the_markdown_report_breaks_workflow_commands_in_quoted_sql(tmp_path: Path) -> None:
    (tmp_path / "001.sql").write_text("CREATE INDEX idx_a ON accounts\n::add-mask::x\n(a);\n")
    proc = run(tmp_path, "--format", "markdown", "001.sql")
    assert not [line for line in proc.stdout.decode().splitlines() if line.lstrip().startswith("::")]
