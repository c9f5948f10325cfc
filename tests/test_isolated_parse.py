"""Huge statements are parsed in a child with a memory budget: libpg_query ends the process when memory runs
out, so a statement it cannot parse within the budget is one finding, and the rest of the file is judged."""

from __future__ import annotations

import os

import pytest

import schemalint.sql.isolated as isolated
from tests.conftest import lint

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="isolation needs fork")


def test_an_isolated_parse_gives_what_the_parser_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    sql = "CREATE INDEX idx_a ON accounts (a);\nSELEC 1;\nALTER TABLE accounts DROP COLUMN b;\n"
    in_process = [(f.code, f.span.line, f.span.column, f.message) for f in lint(sql)]
    monkeypatch.setattr(isolated, "ISOLATE_CHARS", 10)
    forked = [(f.code, f.span.line, f.span.column, f.message) for f in lint(sql)]
    assert forked == in_process and {"SL001", "SL102", "SL201"} <= {c for c, *_ in forked}


def test_a_statement_over_the_memory_budget_is_one_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    # the budget is address space the child may add: memory the parent freed but keeps mapped is reused
    # first, so the statement needs far more than any such slack (~220 MB of raw tree before the refusal)
    monkeypatch.setattr(isolated, "ISOLATE_CHARS", 100_000)
    monkeypatch.setattr(isolated, "BUDGET", 16 * 1024 * 1024)
    huge = "SELECT 1" + "+1" * 1_000_000 + ";\n"
    findings = lint(huge + "CREATE INDEX idx_a ON accounts (a);\n")
    assert [(f.code, f.span.line) for f in findings] == [("SL001", 1), ("SL102", 2)]
    assert "needs more memory to parse than schemalint allows (16 MB)" in findings[0].message
