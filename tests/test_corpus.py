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

from schemalint.sql.parse import blank_meta_commands


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
    # every templated statement gets its own SL001, and says it is a template
    templated = [f for f in payload["findings"] if f["code"] == "SL001" and "supabase__auth" in f["file"]]
    assert all("template" in f["message"] for f in templated)
