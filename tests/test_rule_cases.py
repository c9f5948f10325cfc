"""Every rule's cases, found by its code: ``tests/rule_cases/<CODE>.yaml`` (in the style of sqlfluff's
``std_rule_cases``). One file per static rule (SL0xx–SL4xx); a test checks that each registered one has its file.

A file is ``rule: CODE`` and ``cases:``. Each case has:

- ``sql`` (one file, named ``20240201_000000_case.sql``) or ``files`` (several, in migration order; the last
  is the one judged), and optionally ``settings`` (the config table) and ``encoding`` (how ``sql`` is written
  to disk: ``latin-1`` makes a file that is not UTF-8);
- ``expect``: the ``CODE@line`` findings in the last file of the codes looked at — ``rules`` (default: the
  file's own code);
- optional ``message_contains`` / ``help_contains``: phrases the first finding's message and help contain;
- optional ``report``: the findings as ``--format concise`` prints them (``path:line:col: CODE [severity]
  message``);
- optional ``fix``: the last file's text once the findings' fixes are applied (``unsafe_fixes: true`` also
  applies the unsafe ones), or ``null`` when there is nothing to apply;
- optional ``at_ref``: what git knew of each file at the ``--since`` ref (``existed``, ``old_text``,
  ``renamed_from``, ``precedes``), for the history gate (SL013, SL014);
- optional ``baseline``: a schema dump read first, as the ``baseline`` setting reads one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from schemalint.authoring.fixes import fixed_text
from schemalint.report import ReportOptions, render
from schemalint.rules import all_rules
from schemalint.sources.files import AtRef
from tests.conftest import lint_files

CASES_DIR = Path(__file__).parent / "rule_cases"
DEFAULT_NAME = "20240201_000000_case.sql"
_CASE_KEYS = {"name", "rules", "sql", "files", "settings", "encoding", "expect", "message_contains",
              "help_contains", "report", "fix", "unsafe_fixes", "at_ref", "quiet_timeouts", "baseline"}


def _load() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["rule"] == path.stem, f"{path.name} holds the cases of {data['rule']}"
        for case in data["cases"]:
            params.append(pytest.param(case.get("rules", [data["rule"]]), case, id=f"{path.stem}:{case['name']}"))
    return params


@pytest.mark.parametrize(("codes", "case"), _load())
def test_rule_case(codes: list[str], case: dict[str, Any]) -> None:
    assert set(case) <= _CASE_KEYS, f"unknown keys {set(case) - _CASE_KEYS}"
    texts: dict[str, str] = dict(case["files"]) if "files" in case else {DEFAULT_NAME: case["sql"]}
    encoding = case.get("encoding", "utf-8")
    files = {name: text.encode(encoding) for name, text in texts.items()}
    at_ref = {name: AtRef("main", **facts) for name, facts in (case.get("at_ref") or {}).items()}
    result = lint_files(files, case.get("settings"), quiet_timeouts=case.get("quiet_timeouts", True), core_only=False,
                        at_ref=at_ref, baseline=case.get("baseline"))
    assert not result.internal_errors, result.internal_errors
    last = list(files)[-1]
    matching = [f for f in result.findings if f.code in codes and f.file == last]
    got = [f"{f.code}@{f.span.line}" for f in matching]
    assert got == case["expect"], [f.message for f in matching]
    for needle in case.get("message_contains", ()):
        assert needle in matching[0].message, matching[0].message
    for needle in case.get("help_contains", ()):
        assert needle in matching[0].help, matching[0].help
    if "report" in case:
        result.findings = matching
        concise = render("concise", result, ReportOptions(color=False))
        assert concise.splitlines() == case["report"]
    if "fix" in case:
        unsafe = bool(case.get("unsafe_fixes"))
        edits = {f.fix for f in matching if f.fix is not None and (f.fix.safe or unsafe)}
        fixed, count, problem = fixed_text(texts[last], edits)
        assert problem is None, problem
        assert (fixed if count else None) == case["fix"]


def test_every_static_rule_has_its_case_file() -> None:
    static = [code for code in all_rules() if code < "SL500"]
    missing = [code for code in static if not (CASES_DIR / f"{code}.yaml").is_file()]
    assert not missing, f"rules without tests/rule_cases/<CODE>.yaml: {missing}"
    strays = sorted(p.stem for p in CASES_DIR.glob("*.yaml") if p.stem not in all_rules())
    assert not strays, f"case files for codes that do not exist: {strays}"
