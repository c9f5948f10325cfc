"""Large files are parsed in chunks and keep no trees; the findings are the same as a whole-file parse."""

from __future__ import annotations

import pytest

import schemalint.sql.parse as parse_module
from tests.conftest import lint

SQL = (
    "CREATE TABLE t (a int, b text);\n"
    "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $body$\nBEGIN\n  PERFORM 1;\n  PERFORM 2;\nEND $body$;\n"
    "SELECT 'a string;\nwith a cut point inside';\n"
    "/* a comment;\n with one too */ CREATE INDEX idx_t_a ON t (a);\n"
    "ALTER TABLE accounts ADD COLUMN x int NOT NUL;\n"  # a syntax error in the middle
    "CREATE INDEX idx_acc ON accounts (a);\n"
    "ALTER TABLE accounts DROP COLUMN legacy;\n"
    "DO $$ BEGIN ALTER TABLE accounts DROP COLUMN other; END $$;\n"
) * 20


def findings(sql: str) -> list[tuple[str, int, int, str]]:
    return [(f.code, f.span.line, f.span.column, f.message) for f in lint(sql, {"select": ["ALL"]}, core_only=False)]


@pytest.mark.parametrize("chunk", [40, 150, 1000])
def test_chunked_parse_gives_the_same_findings(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    whole = findings(SQL)
    monkeypatch.setattr(parse_module, "LARGE_FILE", 100)
    monkeypatch.setattr(parse_module, "CHUNK", chunk)
    chunked = findings(SQL)
    assert chunked == whole
    assert sum(1 for f in whole if f[0] == "SL001") == 20


def test_large_file_statements_release_their_trees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse_module, "LARGE_FILE", 100)
    result = parse_module.parse(SQL)
    assert result.statements and all(s.raw is None and s.lazy for s in result.statements)
    index = next(s for s in result.statements if s.kind == "IndexStmt")
    assert index.node["relation"]["relname"] == "t"  # parsed again on demand
    loc = index.node["relation"]["location"]
    assert SQL[index.offset_of(loc)] == "t"
    index.release()
    assert index.raw is None


def test_a_chunk_inside_a_long_body_grows_geometrically(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cut inside a 1,000-chunk DO block: the chunk doubles its growth each time, so the block is parsed a
    handful of times (growing by one chunk each time made a 10 MB block cost 5 s of repeated scans)."""
    monkeypatch.setattr(parse_module, "LARGE_FILE", 100)
    monkeypatch.setattr(parse_module, "CHUNK", 100)
    body = "  UPDATE accounts SET score = 1;\n" * 3_000
    text = f"DO $$\nBEGIN\n{body}END $$;\nSELECT 1;\n"
    calls: list[int] = []
    original = parse_module._parse_region

    def counted(*args: object, **kwargs: object) -> bool:
        calls.append(1)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(parse_module, "_parse_region", counted)
    parsed = parse_module.parse(text)
    assert [s.kind for s in parsed.statements] == ["DoStmt", "SelectStmt"]
    assert len(calls) <= 14  # log2(1,000) + the tail; one chunk at a time would be 1,000


def test_a_huge_statement_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The chunk that holds one huge statement keeps its tree until the engine has judged it (once per
    file): the statement is not parsed a second time when the rules read it."""
    rows = ", ".join(f"({i}, 'n')" for i in range(3_000))
    sql = (f"CREATE INDEX idx_a ON accounts (a);\nINSERT INTO accounts (id, name) VALUES {rows};\n"
           f"INSERT INTO accounts (id, name) VALUES {rows};\nALTER TABLE accounts DROP COLUMN b;\n")
    whole = findings(sql)
    monkeypatch.setattr(parse_module, "LARGE_FILE", 100)
    monkeypatch.setattr(parse_module, "CHUNK", 100)
    monkeypatch.setattr(parse_module, "HOLD_STATEMENT", 10_000)
    parsed: list[int] = []
    original = parse_module.parse_sql_json

    def counted(text: str) -> str:
        parsed.append(len(text))
        return original(text)

    monkeypatch.setattr(parse_module, "parse_sql_json", counted)
    assert findings(sql) == whole
    huge = [size for size in parsed if size > 10_000]
    assert len(huge) == 3  # the first INSERT once, the second (not held: one per file) twice
