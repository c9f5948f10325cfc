"""Tenancy, conventions and migration-file rules: the guide's examples and every configuration key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO, lint, lint_files

GUIDE = REPO.parent / "shared" / "spec" / "schema-extension-guide.md"


def family(findings: list, prefix: tuple[str, ...] = ("SL3", "SL4")) -> list[str]:  # type: ignore[type-arg]
    return sorted(f.code for f in findings if f.code.startswith(prefix))


def guide_block(first_line: str) -> str:
    if not GUIDE.is_file():
        pytest.skip("guide not present")
    for block in re.findall(r"```sql\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S):
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


def test_tenancy_options(tmp_path: Path) -> None:
    sql = ("CREATE TABLE audit_log (id bigint PRIMARY KEY, org_id int NOT NULL);\n"
           "ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;\n"
           "CREATE POLICY p ON audit_log USING (org_id = current_setting('app.org')::int);\n"
           "CREATE TABLE shared.countries (code text PRIMARY KEY);\n")
    base = {"select": ["SL3"]}
    assert family(lint(sql, base)) == ["SL301", "SL301"]
    custom = {**base, "tenancy": {"column": "org_id", "setting": "app.org", "exempt-schemas": ["shared"]}}
    assert family(lint(sql, custom)) == []
    globbed = {**base, "tenancy": {"exempt-tables": ["audit_*", "shared.*"]}}
    assert family(lint(sql, globbed)) == []
    wrong_setting = {**base, "tenancy": {"column": "org_id", "exempt-schemas": ["shared"]}}
    assert family(lint(sql, wrong_setting)) == ["SL303"]


def test_family_turned_off_with_one_line() -> None:
    sql = "CREATE TABLE t (id int PRIMARY KEY, created_at timestamptz, updated_at timestamptz);"
    assert family(lint(sql, {"select": ["ALL"]})) == ["SL301"]
    assert family(lint(sql, {"select": ["ALL"], "ignore": ["SL3"]})) == []


def test_partition_of_tenant_table_and_temp_tables() -> None:
    sql = ("CREATE TABLE events (id bigint, tenant_id int NOT NULL, created_at timestamptz, updated_at timestamptz,"
           " PRIMARY KEY (id, tenant_id)) PARTITION BY HASH (tenant_id);\n"
           "ALTER TABLE events ENABLE ROW LEVEL SECURITY;\n"
           "CREATE POLICY tenant_isolation_events ON events USING (tenant_id = current_setting('app.tenant_id')::int);\n"
           "CREATE TABLE events_0 PARTITION OF events FOR VALUES WITH (MODULUS 2, REMAINDER 0);\n"
           "CREATE TEMP TABLE scratch (x int);\n")
    assert family(lint(sql, {"select": ["ALL"]})) == []


def test_conventions_options() -> None:
    sql = ("CREATE TABLE t (id int PRIMARY KEY, tenant_id int NOT NULL, inserted_on timestamptz);\n"
           "CREATE INDEX ix_t_id ON t (id);\n")
    assert family(lint(sql, {"select": ["SL402", "SL405"]})) == ["SL402", "SL405"]
    conventions = {"audit-columns": ["inserted_on"], "index-pattern": "^ix_"}
    assert family(lint(sql, {"select": ["SL402", "SL405"], "conventions": conventions})) == []


def test_foreign_key_index_from_history_and_later_in_file() -> None:
    files = {
        "20240101_000000_a.sql": "CREATE TABLE notes (id int PRIMARY KEY, account_id int);\n"
                                 "CREATE INDEX idx_notes_account ON notes (account_id, id);",
        "20240201_000000_b.sql": "ALTER TABLE notes ADD CONSTRAINT fk_notes_account FOREIGN KEY (account_id) "
                                 "REFERENCES accounts NOT VALID;\n"
                                 "ALTER TABLE notes ADD COLUMN owner_id int REFERENCES users (id);\n"
                                 "ALTER TABLE notes ADD COLUMN team_id int REFERENCES teams (id);\n"
                                 "CREATE INDEX CONCURRENTLY idx_notes_team ON notes (team_id);",
    }
    result = lint_files(files, {"select": ["SL406"]})
    assert [(f.code, f.span.line) for f in result.findings] == [("SL406", 2)]


def test_migration_file_options() -> None:
    sql = "-- Title: x\nSELECT 1;\n-- rollback:\n-- SELECT 0;\n"
    codes = [f.code for f in lint(sql, {"select": ["SL01"]}, name="V1__init.sql")]
    assert sorted(codes) == ["SL010", "SL011", "SL012"]
    options = {"filename-pattern": r"^V\d+__\w+\.sql$", "required-header-fields": ["Title"],
               "rollback-markers": [r"^--\s*rollback:"]}
    assert lint(sql, {"select": ["SL01"], "migration-file": options}, name="V1__init.sql") == []


def test_down_sections_and_sibling_files_satisfy_sl012() -> None:
    result = lint_files({"m/1_x/up.sql": "SELECT 1;", "m/1_x/down.sql": "SELECT 0;"}, {"select": ["SL012"]})
    assert result.findings == []
    goose = "-- +goose Up\nSELECT 1;\n-- +goose Down\nSELECT 0;\n"
    assert lint(goose, {"select": ["SL012"]}) == []


def test_every_naming_pattern_option() -> None:
    sql = ("CREATE TABLE t (id int, code text, p int, CONSTRAINT key_t PRIMARY KEY (id),"
           " CONSTRAINT unique_code UNIQUE (code), CONSTRAINT check_p CHECK (p > 0),"
           " CONSTRAINT ref_p FOREIGN KEY (p) REFERENCES t (id));\n")
    defaults = [f.message for f in lint(sql, {"select": ["SL405"]})]
    assert len(defaults) == 4
    conventions = {"primary-key-pattern": "^key_", "unique-pattern": "^unique_", "check-pattern": "^check_",
                   "foreign-key-pattern": "^ref_"}
    assert lint(sql, {"select": ["SL405"], "conventions": conventions}) == []


def test_unnamed_constraint_on_existing_table_only() -> None:
    new_table = "CREATE TABLE t (id int PRIMARY KEY, code text UNIQUE);\nALTER TABLE t ADD UNIQUE (code);\n"
    assert lint(new_table, {"select": ["SL405"]}) == []
    existing = "ALTER TABLE accounts ADD UNIQUE (code);\n"
    (finding,) = lint(existing, {"select": ["SL405"]})
    assert "Unnamed unique constraint on the existing table accounts" in finding.message
