"""Statements inside DO blocks and called functions are judged like top-level ones, at their real place."""

from __future__ import annotations

import pytest

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


def _long_body(repeat: int) -> str:
    """A body whose cuts at ';' + newline often fall inside nested blocks, strings, comments and bodies."""
    piece = (
        "  UPDATE accounts SET score = score + 1 WHERE id = 42;\n"
        "  IF n > 0 THEN\n    DELETE FROM sessions WHERE id = n;\n  END IF;\n"
        "  n := length('a string;\n with a cut inside;\n');\n"
        "  /* a comment;\n that spans lines; */\n"
        "  FOR i IN 1..3 LOOP\n    UPDATE accounts SET score = i;\n    PERFORM pg_sleep(0.1);\n  END LOOP;\n"
        "  EXECUTE $q$ALTER TABLE accounts ADD COLUMN IF NOT EXISTS c int;\n$q$;\n"
        "  EXECUTE format('DROP TABLE %I', 'x');\n"
        "  BEGIN\n    INSERT INTO audit VALUES (1);\n  EXCEPTION WHEN others THEN\n    NULL;\n  END;\n"
    )
    return ("\nDECLARE\n  n integer := 1;\n  label text := 'BEGIN; END;';\nBEGIN\n" + piece * repeat
            + "EXCEPTION WHEN unique_violation THEN\n  RAISE NOTICE 'dup;\n';\nEND\n")


def test_a_long_body_read_in_parts_gives_the_facts_of_the_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    from schemalint.sql import plpgsql

    body = _long_body(300)
    whole = plpgsql._analyse(body)
    monkeypatch.setattr(plpgsql, "PART", 2_000)
    monkeypatch.setattr(plpgsql, "LONG_BODY", 8_000)
    parts = plpgsql._analyse_in_parts(body)
    assert whole is not None and parts is not None
    assert parts.statements == whole.statements and len(parts.statements) == 1_200
    assert parts.dynamic == whole.dynamic
    assert [(loop.lineno, loop.writes, loop.sleeps) for loop in parts.loops] == \
        [(loop.lineno, loop.writes, loop.sleeps) for loop in whole.loops]


def test_a_long_body_that_is_one_nested_block_is_read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    from schemalint.sql import plpgsql

    body = "BEGIN\n  LOOP\n" + "    UPDATE accounts SET score = 1;\n" * 2_000 + "  END LOOP;\nEND\n"
    monkeypatch.setattr(plpgsql, "PART", 2_000)
    monkeypatch.setattr(plpgsql, "LONG_BODY", 8_000)
    assert plpgsql._analyse_in_parts(body) is None  # the loop cannot be cut: the whole body is parsed instead
    facts = plpgsql.analyse_body.__wrapped__(body)
    assert facts is not None and len(facts.loops) == 1 and len(facts.statements) == 2_000


def test_findings_of_a_long_do_block_are_at_their_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    from schemalint.sql import plpgsql

    monkeypatch.setattr(plpgsql, "PART", 2_000)
    monkeypatch.setattr(plpgsql, "LONG_BODY", 8_000)
    plpgsql.analyse_body.cache_clear()
    filler = "  UPDATE accounts SET score = 1 WHERE id = 2;\n" * 1_000
    sql = f"DO $$\nBEGIN\n{filler}  CREATE INDEX idx_late ON accounts (a);\n{filler}END $$;\n"
    assert where(sql, "SL102") == [(1_003, 3)]
    plpgsql.analyse_body.cache_clear()
