"""Data-driven rule tests (in the style of sqlfluff's YAML cases): tests/rule_cases/*.yaml.

Each case has either ``sql`` (one file) or ``files`` (several, in migration order), an optional
``settings`` table, and ``expect``: the list of ``CODE@line`` findings of the rule(s) under test in the
last file (``rules`` lists which codes to look at; default: the file's ``rule``).
``message_contains`` / ``help_contains`` check the wording of the first finding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import lint_files

CASES_DIR = Path(__file__).parent / "rule_cases"


def _load() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        codes = data.get("rules") or [data["rule"]]
        for case in data["cases"]:
            params.append(pytest.param(case.get("rules", codes), case, id=f"{path.stem}:{case['name']}"))
    return params


@pytest.mark.parametrize(("codes", "case"), _load())
def test_rule_case(codes: list[str], case: dict[str, Any]) -> None:
    files = dict(case["files"]) if "files" in case else {"20240201_000000_case.sql": case["sql"]}
    result = lint_files(files, case.get("settings"), quiet_timeouts=case.get("quiet_timeouts", True), core_only=False)
    assert not result.internal_errors, result.internal_errors
    last = list(files)[-1]
    got = [f"{f.code}@{f.span.line}" for f in result.findings if f.code in codes and f.file == last]
    assert got == case["expect"], [f.message for f in result.findings if f.code in codes]
    matching = [f for f in result.findings if f.code in codes and f.file == last]
    if "message_contains" in case:
        for needle in case["message_contains"]:
            assert needle in matching[0].message, matching[0].message
    if "help_contains" in case:
        for needle in case["help_contains"]:
            assert needle in matching[0].help, matching[0].help
