"""The house guide's own examples behave as the guide intends, except where PostgreSQL says otherwise
(and the rule page explains why)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO, lint

GUIDE = REPO.parent / "shared" / "spec" / "schema-extension-guide.md"


def _blocks() -> list[str]:
    if not GUIDE.is_file():
        pytest.skip("../shared/spec/schema-extension-guide.md is not present")
    return re.findall(r"```sql\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)


def _findings(sql: str, family: tuple[str, ...] = ("SL1", "SL2")) -> set[tuple[str, int]]:
    return {(f.code, f.span.line) for f in lint(sql) if f.code.startswith(family)}


# (first line of the block, expected SL1xx/SL2xx findings as (code, line in the block))
EXPECTED = {
    # the block holds the good and the bad statement one after the other: as one file, two ALTER TABLEs that
    # could be one (SL126 names both lines)
    "-- ✅ GOOD: Adding optional column": {("SL126", 2), ("SL204", 5)},
    "-- ✅ GOOD: Add new table for additional data": {("SL201", 10)},
    # the ✅ default + inline CHECK scans under ACCESS EXCLUSIVE (SL106 page explains)
    "-- ✅ GOOD: Safe default value": {("SL106", 3), ("SL101", 7), ("SL126", 2)},  # good and bad, one after the other
    "-- ✅ GOOD: Optional feature with flag": set(),
    "-- Step 1: Add column with safe default": {("SL106", 4)},  # Pattern 1: inline CHECK
    "-- Create extension table with proper relationships": set(),  # Pattern 2
    "-- Step 1: Create new version of table": set(),  # Pattern 3
    "-- Add computed column using GENERATED ALWAYS": {("SL111", 3)},  # Pattern 4 (SL111 page explains)
    "-- Existing JSONB field: metadata": {("SL106", 27), ("SL119", 27)},  # Pattern 5
    "-- =====================================================": {("SL106", 18)},  # migration structure
    "-- Test query performance with new index": set(),
    "-- ✅ GOOD: Selective index with WHERE clause": {("SL102", 7)},
    "-- ✅ GOOD: Simple range check": {("SL106", 3), ("SL106", 8), ("SL119", 8), ("SL126", 2)},
    "-- Strategy 1: Add column with default, then update in batches": {("SL116", 5)},
    "-- ❌ DON'T: Drop columns (breaks existing queries)": {("SL201", 2), ("SL202", 5), ("SL204", 8), ("SL101", 11), ("SL126", 8)},
    "-- ❌ DON'T: Create indexes without CONCURRENTLY (locks table)": {("SL102", 2), ("SL105", 5)},
    "-- ❌ DON'T: Forget tenant isolation on new tables": set(),
}


def test_every_guide_example_is_judged_as_expected() -> None:
    blocks = _blocks()
    seen = set()
    for block in blocks:
        first = block.strip().splitlines()[0]
        assert first in EXPECTED, f"new guide example: {first}"
        seen.add(first)
        assert _findings(block) == EXPECTED[first], first
    assert seen == set(EXPECTED)


# Tenancy and conventions (SL3xx, SL4xx) on the guide's own examples; each rule's cases are in
# tests/rule_cases/<CODE>.yaml.
def family(findings: list, prefix: tuple[str, ...] = ("SL3", "SL4")) -> list[str]:  # type: ignore[type-arg]
    return sorted(f.code for f in findings if f.code.startswith(prefix))


def guide_block(first_line: str) -> str:
    for block in _blocks():
        if block.strip().startswith(first_line):
            return block
    raise AssertionError(first_line)


def test_guide_account_analytics_is_clean() -> None:
    sql = guide_block("-- Create extension table with proper relationships")
    assert family(lint(sql, {"select": ["ALL"]})) == []


def test_guide_new_table_bad_example_raises_sl301_and_sl302() -> None:
    block = guide_block("-- ❌ DON'T: Forget tenant isolation on new tables")
    bad, good = block.split("-- ✅ DO:")
    assert family(lint(bad, {"select": ["ALL"]}), ("SL3",)) == ["SL301"]
    no_tenant = "CREATE TABLE new_table (id UUID PRIMARY KEY, tenant_id INTEGER NOT NULL, data VARCHAR(255));"
    assert family(lint(no_tenant, {"select": ["ALL"]}), ("SL3",)) == ["SL302"]
    assert family(lint(good, {"select": ["ALL"]}), ("SL3",)) == []


def test_guide_account_segments_has_no_primary_key() -> None:
    block = guide_block("-- ✅ GOOD: Add new table for additional data")
    codes = family(lint(block, {"select": ["ALL"]}))
    assert "SL401" in codes and "SL301" in codes


def test_family_turned_off_with_one_line() -> None:
    sql = "CREATE TABLE t (id int PRIMARY KEY, created_at timestamptz, updated_at timestamptz);"
    assert family(lint(sql, {"select": ["ALL"]})) == ["SL301"]
    assert family(lint(sql, {"select": ["ALL"], "ignore": ["SL3"]})) == []
