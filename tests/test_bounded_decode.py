"""Huge statements: their long data lists are decoded one element at a time, and nothing is left out."""

from __future__ import annotations

import json
import pickle

import pytest
from pglast import parser as pg

import schemalint.sql.bounded as bounded
from schemalint.sql.nodes import walk
from tests.conftest import lint


def _insert(rows: int) -> str:
    values = ", ".join(f"({i}, 'name {i}', ARRAY[{i}, {i + 1}])" for i in range(rows))
    return f"INSERT INTO accounts (id, name, tags) VALUES {values}"


@pytest.fixture
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounded, "HUGE_JSON", 1_000)
    monkeypatch.setattr(bounded, "MIN_ELEMENTS", 50)


def test_a_lazy_tree_reads_as_the_whole_tree(small_thresholds: None) -> None:
    payload = pg.parse_sql_json(_insert(2_000) + " RETURNING id")
    whole = json.loads(payload)
    lazy = bounded.decode_bounded(payload)
    rows = lazy["stmts"][0]["stmt"]["InsertStmt"]["selectStmt"]["SelectStmt"]["valuesLists"]
    assert isinstance(rows, bounded.LazyArray) and list.__len__(rows) == 0  # nothing held
    assert len(rows) == 2_000 and rows[0] == whole["stmts"][0]["stmt"]["InsertStmt"]["selectStmt"][
        "SelectStmt"]["valuesLists"][0]
    assert rows[-1]["List"]["items"][0]["A_Const"]["ival"]["ival"] == 1_999
    assert [kind for kind, _ in walk(lazy)] == [kind for kind, _ in walk(whole)]
    assert lazy == whole
    first, last = whole["stmts"][0]["stmt"]["InsertStmt"]["selectStmt"]["SelectStmt"]["valuesLists"][::1999]
    assert last in rows and rows.index(last) == 1_999 and rows.count(first) == 1 and {"x": 1} not in rows
    assert rows[1:3] == [rows[1], rows[2]] and next(reversed(rows)) == last
    assert pickle.loads(pickle.dumps(lazy)) == whole  # check -j sends trees between processes


def test_a_short_statement_is_decoded_as_it_is(small_thresholds: None) -> None:
    payload = pg.parse_sql_json("INSERT INTO accounts (id) VALUES (1), (2)")
    assert not any(isinstance(v, bounded.LazyArray) for _, fields in walk(json.loads(payload))
                   for v in fields.values())
    assert bounded.decode_bounded(payload) == json.loads(payload)


def test_rules_see_every_row_of_a_huge_insert(monkeypatch: pytest.MonkeyPatch) -> None:
    """SL123 reads the VALUES rows: a label added in the transaction and used in row 1,500 is found the same
    way whether the rows were decoded whole or one at a time."""
    rows = ", ".join(f"({i}, '{'gold' if i == 1_500 else 'basic'}')" for i in range(2_000))
    sql = ("BEGIN;\nCREATE TYPE tier AS ENUM ('basic');\nCREATE TABLE plans (id int, t tier);\nCOMMIT;\n"
           "BEGIN;\nALTER TYPE tier ADD VALUE 'gold';\n"
           f"INSERT INTO plans (id, t) VALUES {rows};\nCOMMIT;\n")
    whole = [(f.code, f.span.line, f.message) for f in lint(sql, {"select": ["ALL"]}, core_only=False)]
    monkeypatch.setattr(bounded, "HUGE_JSON", 1_000)
    monkeypatch.setattr(bounded, "MIN_ELEMENTS", 50)
    calls: list[int] = []
    original = bounded._put_back
    monkeypatch.setattr(bounded, "_put_back", lambda tree, lazy: calls.append(len(lazy)) or original(tree, lazy))
    lazy = [(f.code, f.span.line, f.message) for f in lint(sql, {"select": ["ALL"]}, core_only=False)]
    assert calls, "the bounded decoding was not used"
    assert ("SL123", 7) in [(code, line) for code, line, _ in whole]
    assert lazy == whole
