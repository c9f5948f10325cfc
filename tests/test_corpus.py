"""Smoke test over ../shared/corpus: ~1,600 real migrations from five projects.

Every file either parses or gets SL001 at a real location; nothing crashes; exit code is 0 or 1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from pglast import parser as pg

from schemalint.sql.parse import blank_meta_commands, parse
from schemalint.sql.text import SourceText


def test_whole_corpus_runs_cleanly(corpus: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "schemalint", "check", "--format", "json", "--select", "ALL", "--no-cache", str(corpus)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    payload = json.loads(proc.stdout)
    assert "internal_errors" not in payload
    files = sorted(corpus.rglob("*.sql"))
    assert payload["summary"]["files"] == len(files)

    syntax = Counter(f["file"] for f in payload["findings"] if f["code"] == "SL001")
    assert not [f for f in payload["findings"] if f["code"] == "SL002"]
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            pg.parse_sql_json(blank_meta_commands(text))
            parses = True
        except pg.ParseError:
            parses = False
        reported = syntax.get(str(path), 0)
        if parses:
            assert reported == 0, f"{path} parses but got SL001"
        else:
            assert reported >= 1, f"{path} does not parse but got no SL001"
    lines = {str(p): p.read_text(encoding="utf-8").count("\n") + 1 for p in files}
    for f in payload["findings"]:
        assert 1 <= f["line"] <= f["end_line"] <= lines[f["file"]], f
        assert f["column"] >= 1
    # the corpus README: 59 templated supabase files and one hatchet file do not parse
    assert len(syntax) == 60
    assert sum(1 for name in syntax if "supabase__auth" in name) == 59
    # the hatchet file has one bad statement (a missing semicolon before ALTER): exactly one SL001
    (hatchet,) = [name for name in syntax if "hatchet" in name]
    assert syntax[hatchet] == 1
    # a template gets one SL001 for the whole file, naming its first placeholder, and nothing else
    templated = [f for f in payload["findings"] if "supabase__auth" in f["file"] and f["file"] in syntax]
    assert all(f["code"] == "SL001" and "this file is a template: {{" in f["message"] for f in templated)
    assert all(syntax[name] == 1 for name in syntax if "supabase__auth" in name)
    # one finding per statement and rule (the catalogue's convention): no rule repeats itself in a statement
    assert not repeated_in_a_statement(payload["findings"]), repeated_in_a_statement(payload["findings"])[:5]


def repeated_in_a_statement(findings: list[dict[str, object]]) -> list[tuple[str, str, int]]:
    """(file, code, statement number) for every rule that raised more than one finding on one statement."""
    by_file: dict[str, list[dict[str, object]]] = {}
    for f in findings:
        by_file.setdefault(str(f["file"]), []).append(f)
    repeated: list[tuple[str, str, int]] = []
    for file, found in by_file.items():
        text = Path(file).read_text(encoding="utf-8")
        source = SourceText(text)
        spans = [(s.start, s.end) for s in parse(text, source).statements]
        seen: Counter[tuple[str, int]] = Counter()
        for f in found:
            at = source.line_starts[int(str(f["line"])) - 1] + int(str(f["column"])) - 1
            number = next((i for i, (start, end) in enumerate(spans) if start <= at <= end), None)
            if number is not None:
                seen[(str(f["code"]), number)] += 1
        repeated.extend((file, code, number) for (code, number), count in seen.items() if count > 1)
    return repeated
