"""`check` on any input: output that cannot be injected, lines counted as editors count them, deep
nesting judged, never a traceback, only regular files read, no silent skip, a cache that cannot be
poisoned, linear-time config patterns, and a `--fix` that can never corrupt a file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import lint

QUIET = 'ignore = ["SL01", "SL3", "SL4"]\n[locks]\nrunner-sets-lock-timeout = true\n'
FORMATS = ("text", "concise", "json", "github", "sarif", "markdown")


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "schemalint", *args], cwd=cwd, capture_output=True, check=False,
                          timeout=120, env={**os.environ, **(env or {})})


def project(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    (tmp_path / "schemalint.toml").write_text(QUIET)
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return tmp_path


HOSTILE = (
    'CREATE INDEX "idx_a\n::set-env name=PWNED::1" ON accounts (a);\n'
    'CREATE INDEX "idx_b\x1b]0;owned\x07\x1b[2J" ON accounts (b);\n'
    'CREATE INDEX "idx_c\u202etxt.exe" ON accounts (c);\n'
    'CREATE INDEX "<script>alert(1)</script>" ON accounts (d);\n'
)


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_identifiers_cannot_inject_output(tmp_path: Path, fmt: str) -> None:
    root = project(tmp_path, {"migrations/1.sql": HOSTILE, "migrations/2\n::error file=x::boom.sql": HOSTILE})
    summary = tmp_path / "summary.md"
    proc = run(root, "check", "migrations", "--no-cache", "--format", fmt, "--no-color",
               env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout.decode("utf-8")
    assert "\x1b" not in out and "\x07" not in out
    for line in out.splitlines():
        if line.startswith("::"):
            assert fmt == "github" and line.startswith(("::error file=", "::warning file=")), line
            assert "::set-env" not in line.split("::", 2)[1]  # only inside the escaped message
    if fmt in ("text", "concise"):
        assert "\\n::set-env name=PWNED::1" in out and "\\x1b]0;owned\\x07" in out and "\\u202e" in out
    if fmt in ("json", "sarif"):
        json.loads(out)
    if fmt in ("github", "markdown"):
        text = summary.read_text() if fmt == "github" else out
        # HTML is escaped everywhere but inside code fences (which GitHub shows verbatim), and no fence is
        # closed early by backticks in a name
        outside = re.sub(r"(?ms)^( *)(`{3,})sql\n.*?^\1\2$", "", text)
        assert "<script>" not in outside and "&lt;script&gt;" in outside and "\x1b" not in text


def test_colour_is_schemalints_own_styling_only(tmp_path: Path) -> None:
    root = project(tmp_path, {"migrations/1.sql": HOSTILE})
    out = run(root, "check", "migrations", "--no-cache", "--color").stdout.decode()
    assert "\x1b[" in out and "\x1b]" not in out and "\x1b[2J" not in out


def test_lines_are_counted_on_newlines_only() -> None:
    sql = "-- a form feed \x0c and a line separator \u2028 in a comment\r\nSELECT 1;\rCREATE INDEX idx_a ON accounts (a);\n"
    (finding,) = [f for f in lint(sql) if f.code == "SL102"]
    assert finding.span.line == 3


def test_end_of_input_error_is_at_the_end() -> None:
    (finding,) = lint("SELECT 1;\nCREATE TABLE a (\n  id int\n")
    assert finding.code == "SL001" and (finding.span.line, finding.span.column) == (3, 9)


def _nested_subqueries(depth: int) -> str:
    query = "SELECT 1"
    for level in range(depth):
        query = f"SELECT * FROM ({query}) s{level}"
    return query


def test_deep_nesting_is_judged_and_the_rest_of_the_file_too(tmp_path: Path) -> None:
    case = "1"
    for level in range(210):
        case = f"CASE WHEN x = {level} THEN {case} ELSE 0 END"
    calls = "x"
    for _ in range(400):
        calls = f"abs({calls})"
    body = "CREATE INDEX idx_deep ON accounts (d);"
    for _ in range(400):
        body = f"IF true THEN {body} END IF;"
    root = project(tmp_path, {
        "migrations/1_sub.sql": _nested_subqueries(150) + ";\nCREATE INDEX idx_1 ON accounts (a);\n",
        "migrations/2_case.sql": f"SELECT {case} FROM accounts;\nCREATE INDEX idx_2 ON accounts (b);\n",
        "migrations/3_calls.sql": f"SELECT {calls} FROM accounts;\nCREATE INDEX idx_3 ON accounts (c);\n",
        "migrations/4_do.sql": f"DO $$ BEGIN {body} END $$;\n",
    })
    for jobs in ("1", "2"):
        proc = run(root, "check", "migrations", "--no-cache", "--format", "json", "-j", jobs)
        got = sorted((f["file"].rsplit("/", 1)[-1], f["code"]) for f in json.loads(proc.stdout)["findings"])
        assert got == [("1_sub.sql", "SL102"), ("2_case.sql", "SL102"), ("3_calls.sql", "SL102"),
                       ("4_do.sql", "SL102")], (jobs, got)


def test_an_internal_error_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from schemalint import cli
    from schemalint import run as run_module

    def broken(request: Any) -> Any:
        raise RuntimeError("a bug\nwith two lines")

    report = tmp_path / "report.json"
    report.write_text("previous report")
    monkeypatch.setattr(run_module, "execute", broken)
    monkeypatch.setattr(sys, "argv", ["schemalint", "check", str(tmp_path), "-o", str(report)])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: RuntimeError: a bug with two lines" in err
    assert report.read_text() == "previous report"  # never left empty or half-written


def test_file_names_that_are_not_utf8_in_every_format(tmp_path: Path) -> None:
    root = project(tmp_path, {})
    (root / "migrations").mkdir()
    with open(os.path.join(os.fsencode(root / "migrations"), b"caf\xe9.sql"), "wb") as handle:
        handle.write(b"CREATE INDEX idx_a ON accounts (a);\n")
    summary = tmp_path / "summary.md"
    for fmt in FORMATS:
        proc = run(root, "check", "migrations", "--format", fmt, env={"GITHUB_STEP_SUMMARY": str(summary)})
        assert proc.returncode == 1 and b"Traceback" not in proc.stderr, proc.stderr
        text = proc.stdout.decode("utf-8")  # valid UTF-8
        assert "caf\ufffd.sql" in text
    out = tmp_path / "out.sarif"
    assert run(root, "check", "migrations", "--format", "sarif", "-o", str(out)).returncode == 1
    json.loads(out.read_text(encoding="utf-8"))
    assert "caf\ufffd.sql" in summary.read_text(encoding="utf-8")


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    root = project(tmp_path, {"1.sql": "CREATE INDEX idx_a ON accounts (a);\n"})
    os.mkfifo(root / "2_fifo.sql")
    proc = run(root, "check", "1.sql", "2_fifo.sql", "/dev/zero", "--format", "json", "--no-cache")
    got = {(f["file"], f["code"]): f["message"] for f in json.loads(proc.stdout)["findings"]}
    assert got[("2_fifo.sql", "SL002")] == "not a regular file: a FIFO"
    assert got[("/dev/zero", "SL002")] == "not a regular file: a character device"
    assert ("1.sql", "SL102") in got


def test_files_over_max_file_size_are_sl002(tmp_path: Path) -> None:
    root = project(tmp_path, {"1.sql": "SELECT 1;\n" * 200, "2.sql": "CREATE INDEX idx_a ON accounts (a);\n"})
    (root / "schemalint.toml").write_text(QUIET.replace("[locks]", 'max-file-size = "1kB"\n[locks]'))
    proc = run(root, "check", ".", "--format", "json", "--no-cache")
    got = [(f["file"], f["code"], f["message"]) for f in json.loads(proc.stdout)["findings"]]
    assert got[0][:2] == ("1.sql", "SL002") and "too large: 2,000 bytes (max-file-size is 1,024)" in got[0][2]
    assert ("2.sql", "SL102") in [g[:2] for g in got]


def test_an_unlistable_folder_is_reported_not_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from schemalint.sources.files import collect

    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "1.sql").write_text("SELECT 1;")
    (tmp_path / "secret").mkdir()
    original = os.scandir

    def scandir(path: Any = ".") -> Any:
        if str(path).endswith("secret"):
            raise PermissionError(13, "Permission denied", str(path))
        return original(path)

    monkeypatch.setattr(os, "scandir", scandir)
    files = collect([str(tmp_path)], ["*.sql"], [])
    unread = [f for f in files if f.unreadable]
    assert [f.display.rsplit("/", 1)[-1] for f in unread] == ["secret"]
    assert "cannot read folder: Permission denied" in (unread[0].unreadable or "")
    assert [f.display.rsplit("/", 1)[-1] for f in files if not f.unreadable] == ["1.sql"]


def test_config_with_a_bom_is_read_and_a_broken_one_is_an_error(tmp_path: Path) -> None:
    root = project(tmp_path, {"1.sql": "CREATE INDEX idx_a ON accounts (a);\n"})
    (root / "schemalint.toml").unlink()
    (root / "pyproject.toml").write_bytes(b"\xef\xbb\xbf[tool.schemalint]\nignore = [\"SL1\", \"SL01\", \"SL4\"]\n")
    proc = run(root, "check", ".", "--no-cache", "--format", "json")
    assert proc.returncode == 0, proc.stdout  # the BOM file was read: SL102 is ignored
    (root / "pyproject.toml").write_text("[tool.schemalint\nignore = 1\n")
    proc = run(root, "check", ".", "--no-cache")
    assert proc.returncode == 2 and b"pyproject.toml: invalid TOML" in proc.stderr


def test_config_patterns_cannot_hang(tmp_path: Path) -> None:
    root = project(tmp_path, {"1.sql": 'CREATE INDEX CONCURRENTLY "idx_' + "a" * 40 + '!" ON accounts (a);\n'})
    (root / "schemalint.toml").write_text("[conventions]\nindex-pattern = '^idx_([a-z0-9]+_?)+$'\n")
    proc = run(root, "check", ".", "--no-cache", "--format", "json", "--select", "SL405")
    assert [f["code"] for f in json.loads(proc.stdout)["findings"]] == ["SL405"]  # answered at once
    (root / "schemalint.toml").write_text("[conventions]\nindex-pattern = '^(idx)_\\1'\n")
    proc = run(root, "check", ".", "--no-cache")
    assert proc.returncode == 2 and b"conventions.index-pattern" in proc.stderr and b"backreferences" in proc.stderr


def test_a_malformed_cache_is_ignored_and_rewritten(tmp_path: Path) -> None:
    root = project(tmp_path, {"1.sql": "CREATE INDEX idx_a ON accounts (a);\n"})
    first = run(root, "check", ".", "--format", "json")
    cache_files = list((root / ".schemalint_cache").glob("results-*.json"))
    assert len(cache_files) == 1
    for poison in ('{"format": 2, "files": {"1.sql": {"key": 1, "findings": [[1, 2]]}}}',
                   '{"format": 2, "files": {"1.sql": "not an entry"}}', "[[[", '{"format": 2, "files": []}'):
        cache_files[0].write_text(poison)
        again = run(root, "check", ".", "--format", "json")
        assert again.returncode == 1 and again.stdout == first.stdout, again.stderr


def test_a_sibling_rollback_file_is_part_of_the_cache_key(tmp_path: Path) -> None:
    root = project(tmp_path, {"m/1_init.up.sql": "SELECT 1;\n"})
    (root / "schemalint.toml").write_text("")

    def sl012() -> bool:
        out = json.loads(run(root, "check", "m", "--format", "json", "--select", "SL012").stdout)
        return any(f["code"] == "SL012" for f in out["findings"])

    assert sl012()
    (root / "m" / "1_init.down.sql").write_text("SELECT 1;\n")
    assert not sl012()
    (root / "m" / "1_init.down.sql").unlink()
    assert sl012()


def test_old_cache_files_are_pruned(tmp_path: Path) -> None:
    root = project(tmp_path, {"1.sql": "SELECT 1;\n"})
    for target in range(11, 19):
        run(root, "check", ".", "--target-postgres", str(target))
    assert len(list((root / ".schemalint_cache").glob("results-*.json"))) <= 4


def _index_file(root: Path) -> Path:
    path = root / "db" / "1.sql"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("CREATE INDEX idx_a ON accounts (a);\n")
    return path


def test_fix_reached_by_two_spellings_is_applied_once(tmp_path: Path) -> None:
    path = _index_file(project(tmp_path, {}))
    proc = run(tmp_path, "check", "--fix", str(tmp_path / "db"), "db/1.sql", "db/../db/1.sql")
    assert path.read_text() == "CREATE INDEX CONCURRENTLY idx_a ON accounts (a);\n", proc.stderr


def test_fix_keeps_symlinks_hard_links_and_mode(tmp_path: Path) -> None:
    root = project(tmp_path, {})
    target = _index_file(root)
    target.chmod(0o640)
    link = root / "db" / "2_link.sql"
    link.symlink_to(target.name)
    hard = root / "hard.sql"
    os.link(target, hard)
    run(root, "check", "--fix", "db/2_link.sql")
    assert link.is_symlink() and os.readlink(link) == "1.sql"
    assert "CONCURRENTLY" in target.read_text() and hard.read_text() == target.read_text()
    assert os.stat(hard).st_ino == os.stat(target).st_ino and target.stat().st_mode & 0o777 == 0o640


def test_fix_refuses_a_read_only_file(tmp_path: Path) -> None:
    path = _index_file(project(tmp_path, {}))
    path.chmod(0o444)
    proc = run(tmp_path, "check", "--fix", "db/1.sql")
    assert "not fixed: the file is read-only" in proc.stderr.decode() and "CONCURRENTLY" not in path.read_text()


def test_fix_that_would_not_parse_is_not_written(tmp_path: Path) -> None:
    from schemalint.authoring.fixes import _apply_to
    from schemalint.findings import Edit

    path = _index_file(project(tmp_path, {}))
    count, problem = _apply_to(path, {Edit(7, 7, "( ")})
    assert count == 0 and problem is not None and "would not parse" in problem
    assert path.read_text() == "CREATE INDEX idx_a ON accounts (a);\n"


def test_a_retained_finding_costs_at_most_300_bytes() -> None:
    """Messages, help and fix texts recur (one table, one recipe) and are kept once: what a finding holds is
    its span and references (benchmarks/hostile.py prints the same measure for a 1 MB file)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import hostile
    finally:
        sys.path.pop(0)
    count, each = hostile.retained_bytes_per_finding(100_000)
    assert count > 6_000 and each <= 300, (count, each)


@pytest.mark.parametrize("fmt", ["text", "concise", "json", "github", "sarif"])
def test_reports_are_written_a_piece_at_a_time(fmt: str) -> None:
    """A report of many findings is rendered in pieces (one finding, one line), never as one text."""
    from schemalint.report import ReportOptions, chunks, render
    from tests.conftest import lint_files

    sql = "CREATE INDEX ON accounts (a);\n" * 500
    result = lint_files({"m.sql": sql}, {"select": ["ALL"]}, core_only=False)
    options = ReportOptions(color=False, sources={"m.sql": sql})
    pieces = list(chunks(fmt, result, options))
    assert len(result.findings) >= 1_000 and len(pieces) >= 1_000
    assert max(len(piece) for piece in pieces[1:]) < 20_000  # the first holds SARIF's rule table
    assert "".join(pieces) == render(fmt, result, options)
