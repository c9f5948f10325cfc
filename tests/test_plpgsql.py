"""Statements inside DO blocks and called functions are judged like top-level ones, at their real place."""

from __future__ import annotations

from tests.conftest import lint


def where(sql: str, code: str) -> list[tuple[int, int]]:
    return [(f.span.line, f.span.column) for f in lint(sql) if f.code == code]


def test_do_block_statement_mapped_to_its_line_and_column() -> None:
    sql = (
        "SELECT 1;\n"
        "DO $migrate$\n"
        "DECLARE\n"
        "    n integer;\n"
        "BEGIN\n"
        "    IF NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'idx_a') THEN\n"
        "        CREATE INDEX idx_a\n"
        "            ON accounts (a);\n"
        "    END IF;\n"
        "END\n"
        "$migrate$;\n"
    )
    findings = [f for f in lint(sql) if f.code == "SL102"]
    assert [(f.span.line, f.span.column, f.span.end_line) for f in findings] == [(7, 9, 8)]
    assert "CREATE INDEX CONCURRENTLY idx_a" in findings[0].help


def test_execute_of_a_constant_string_is_judged() -> None:
    sql = "DO $$\nBEGIN\n  EXECUTE 'ALTER TABLE accounts DROP COLUMN legacy';\nEND $$;\n"
    assert where(sql, "SL201") == [(3, 12)]


def test_dynamic_ddl_is_named_in_the_enclosing_findings() -> None:
    sql = ("DO $$\nBEGIN\n  ALTER TABLE accounts DROP COLUMN a;\n"
           "  EXECUTE format('ALTER TABLE %I DROP COLUMN b', 'accounts');\nEND $$;\n")
    (finding,) = [f for f in lint(sql) if f.code == "SL201"]
    assert "cannot analyse" in finding.message and "line 4" in finding.message


def test_function_created_and_called_in_the_migration() -> None:
    sql = (
        "CREATE FUNCTION add_indexes() RETURNS void LANGUAGE plpgsql AS $fn$\n"
        "BEGIN\n"
        "  CREATE INDEX idx_b ON accounts (b);\n"
        "END $fn$;\n"
        "SELECT add_indexes();\n"
    )
    assert where(sql, "SL102") == [(3, 3)]
    # not called: not run, not judged
    assert where(sql.replace("SELECT add_indexes();\n", ""), "SL102") == []


def test_sql_function_called_with_call() -> None:
    sql = ("CREATE PROCEDURE cleanup() LANGUAGE sql AS $$ TRUNCATE accounts $$;\n"
           "CALL cleanup();\n")
    assert where(sql, "SL208") == [(1, 47)]


def test_do_block_is_one_transaction_for_the_rules() -> None:
    sql = "DO $$\nBEGIN\n  CREATE INDEX CONCURRENTLY idx_c ON accounts (c);\nEND $$;\n"
    assert where(sql, "SL104") == [(3, 3)]


def test_statements_inside_do_feed_the_schema_model() -> None:
    sql = ("DO $$\nBEGIN\n  CREATE TABLE gizmos (id int);\nEND $$;\n"
           "CREATE INDEX idx_gizmos ON gizmos (id);\n")
    assert where(sql, "SL102") == []


def test_quoted_bodies() -> None:
    verbatim = "SELECT 1;\nDO 'BEGIN ALTER TABLE accounts DROP COLUMN x; END';\n"
    assert where(verbatim, "SL201") == [(2, 11)]
    # with doubled quotes the body is not verbatim in the file: judged at the DO statement
    escaped = "SELECT 1;\nDO 'BEGIN RAISE NOTICE ''hi''; ALTER TABLE accounts DROP COLUMN x; END';\n"
    assert where(escaped, "SL201") == [(2, 1)]
