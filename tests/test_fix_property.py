"""--fix (and --unsafe-fixes) proven: for every bad example of every rule page and every fixture migration,
the fixed text still parses, no longer raises the fixed codes, and — on a real PostgreSQL — leaves the same
catalogue as the original (tables, columns with types, nullability and defaults, constraints with their
validation state, indexes, policies, RLS flags; `verify`'s own snapshot). The SL403/SL407 fixes change a new
column's type by design: there the catalogue differs in exactly that type."""

from __future__ import annotations

import re
from typing import Any

import psycopg
import pytest

from schemalint.authoring.fixes import fixed_text
from schemalint.config import Settings
from schemalint.sql.parse import parse
from schemalint.verify import catalog
from schemalint.verify.runner import Verifier
from schemalint.verify.sandbox import sandbox
from schemalint.verify.timeouts import Limits
from tests.conftest import REPO, lint_files
from tests.test_message_claims import GUIDE_COLUMNS, GUIDE_TABLES
from tests.test_rule_pages import PAGES, _settings, examples

TYPE_CHANGING = {"SL403", "SL407"}
HISTORY = "20240101_000000_history.sql"
EXAMPLE = "20240201_000000_example.sql"


def _cases() -> list[Any]:
    """The bad examples of every rule page and the fixture migrations that carry a mechanical fix (decided
    here, at collection: an example without one is no test of --fix)."""
    out = []
    for page in sorted(PAGES.glob("SL[1-4]*.md")):
        for number, (kind, opts, sql, history) in enumerate(examples(page)):
            if kind == "bad":
                out.append(pytest.param(opts, sql, history, id=f"{page.stem[:5]}-{number}"))
    fixtures = sorted((REPO / "fixtures" / "migrations").glob("*.sql"))
    for path in fixtures[1:]:
        out.append(pytest.param("", path.read_text(), fixtures[0].read_text(), id=f"fixture-{path.stem[:15]}"))
    return [case for case in out if fix_everything(*case.values)[1]]


def fix_everything(opts: str, sql: str, history: str) -> tuple[str, set[str], list[str]]:
    """(fixed text, codes that had a fix, codes still raised), applying safe and unsafe fixes until none is left."""
    settings = {**_settings(opts), "select": ["ALL"]}
    text = sql
    fixed_codes: set[str] = set()
    for _ in range(5):
        result = lint_files({HISTORY: history, EXAMPLE: text}, settings, quiet_timeouts=False, core_only=False)
        mine = [f for f in result.findings if f.file == EXAMPLE]
        edits = {f.fix for f in mine if f.fix is not None}
        if not edits:
            return text, fixed_codes, [f.code for f in mine]
        fixed_codes |= {f.code for f in mine if f.fix is not None}
        text, count, problem = fixed_text(text, edits)
        assert problem is None, problem
        if not count:
            break
    result = lint_files({HISTORY: history, EXAMPLE: text}, settings, quiet_timeouts=False, core_only=False)
    return text, fixed_codes, [f.code for f in result.findings if f.file == EXAMPLE]


CASES = _cases()


@pytest.mark.parametrize(("opts", "sql", "history"), CASES)
def test_fixed_text_parses_and_no_longer_raises_the_fixed_codes(opts: str, sql: str, history: str) -> None:
    fixed, codes, remaining = fix_everything(opts, sql, history)
    assert codes
    assert len(parse(fixed).errors) <= len(parse(sql).errors), fixed
    assert not codes & set(remaining), (codes & set(remaining), fixed)


def _apply(pg_server: Any, history: str, sql: str) -> tuple[str | None, dict[str, dict[str, str]]]:
    """Apply the guide's tables, the history and the migration to a fresh scratch database: (error, catalogue)."""
    added = set(re.findall(r"(?i)ADD COLUMN\s+(?:IF NOT EXISTS\s+)?\"?(\w+)", sql + history))
    columns = [f"ADD COLUMN {c} {t}" for c, t in GUIDE_COLUMNS if c not in added]
    base = GUIDE_TABLES + (f"ALTER TABLE accounts {', '.join(columns)};\n" if columns else "")
    if "CREATE TABLE tenant_metadata" in history:
        base = ""  # the fixtures bring their own core tables
    with sandbox(pg_server) as box, psycopg.connect(**box.monitor, autocommit=True) as monitor, \
            psycopg.connect(**box.migrator, autocommit=True) as conn:
        verifier = Verifier(conn, Settings(), set(), Limits.start(30, None), monitor=monitor)
        if verifier.apply_plain(parse(base).statements) is not None:
            return "base", {}
        # the history defines its own version of a guide table: as in the claims test, drop the guide's first
        for stmt in parse(history).statements:
            if stmt.kind == "CreateStmt":
                relation = stmt.node["relation"]
                name = f'{relation.get("schemaname", "public")}.{relation["relname"]}'
                conn.execute(f"DROP TABLE IF EXISTS {name} CASCADE")
        if verifier.apply_plain(parse(history).statements) is not None:
            return "history", {}
        error = verifier.apply_plain(parse(sql).statements)
        return error, catalog.snapshot(monitor)


@pytest.mark.slow
@pytest.mark.parametrize(("opts", "sql", "history"), CASES)
def test_fixed_migration_leaves_the_same_catalogue(pg_server: Any, opts: str, sql: str, history: str) -> None:
    fixed, codes, _ = fix_everything(opts, sql, history)
    original_error, original = _apply(pg_server, history, sql)
    if original_error is not None:
        pytest.skip(f"the original does not apply on the guide's tables: {original_error}")
    fixed_error, after = _apply(pg_server, history, fixed)
    assert fixed_error is None, (fixed_error, fixed)
    differences = catalog.differences(original, after)
    if codes & TYPE_CHANGING:
        assert all(re.search(r"timestamp with time zone|jsonb", d) for d in differences), differences
    else:
        assert differences == [], (differences, fixed)
