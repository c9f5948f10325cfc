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
from schemalint.sources.runners import AUTOCOMMIT, WRAPPED
from schemalint.sql.parse import parse
from schemalint.verify import catalog
from schemalint.verify.runner import Verifier
from schemalint.verify.sandbox import sandbox
from schemalint.verify.timeouts import Limits
from tests.conftest import REPO, lint_files
from tests.test_message_claims import GUIDE_COLUMNS, GUIDE_TABLES
from tests.test_rule_pages import PAGES, _settings, examples, refused

TYPE_CHANGING = {"SL403", "SL407"}
EXAMPLE = "20240201_000000_example.sql"
# the fixture migrations PostgreSQL refuses as written, on purpose (the hazard their rule names), and why;
# a page example says it with ```sql bad refused
FIXTURES_REFUSED = {"20241020_090000_opportunity_risk_scoring": "cannot run inside a transaction block"}


def _history_files(history: tuple[str, ...]) -> dict[str, str]:
    return {f"20240101_{number:06d}_history.sql": text for number, text in enumerate(history)}


def _cases() -> list[Any]:
    """The bad examples of every rule page and the fixture migrations (each after the ones before it) that
    carry a mechanical fix — decided here, at collection: an example without one is no test of --fix. A
    tablespace needs a superuser and a folder on the server's host: that example is left to the page's
    static test, as in the claims test."""
    out = []
    for page in sorted(PAGES.glob("SL[1-4]*.md")):
        for number, (kind, opts, sql, history) in enumerate(examples(page)):
            if kind == "bad" and "TABLESPACE" not in sql.upper():
                out.append(pytest.param(opts, sql, (history,), "" if refused(opts) else None, id=f"{page.stem[:5]}-{number}"))
    fixtures = sorted((REPO / "fixtures" / "migrations").glob("*.sql"))
    for index, path in enumerate(fixtures[1:], start=1):
        history = tuple(p.read_text() for p in fixtures[:index])
        out.append(pytest.param("", path.read_text(), history, FIXTURES_REFUSED.get(path.stem),
                                id=f"fixture-{path.stem[:15]}"))
    return [case for case in out if fix_everything(*case.values[:3])[1]]


def fix_everything(opts: str, sql: str, history: tuple[str, ...]) -> tuple[str, set[str], list[str]]:
    """(fixed text, codes that had a fix, codes still raised), applying safe and unsafe fixes until none is left."""
    settings = {**_settings(opts), "select": ["ALL"]}
    text = sql
    fixed_codes: set[str] = set()
    for _ in range(5):
        result = lint_files({**_history_files(history), EXAMPLE: text}, settings, quiet_timeouts=False,
                            core_only=False)
        mine = [f for f in result.findings if f.file == EXAMPLE]
        edits = {f.fix for f in mine if f.fix is not None}
        if not edits:
            return text, fixed_codes, [f.code for f in mine]
        fixed_codes |= {f.code for f in mine if f.fix is not None}
        text, count, problem = fixed_text(text, edits)
        assert problem is None, problem
        if not count:
            break
    result = lint_files({**_history_files(history), EXAMPLE: text}, settings, quiet_timeouts=False, core_only=False)
    return text, fixed_codes, [f.code for f in result.findings if f.file == EXAMPLE]


CASES = _cases()
APPLYING = [case for case in CASES if case.values[3] is None]
REFUSED = [case for case in CASES if case.values[3] is not None]


@pytest.mark.parametrize(("opts", "sql", "history", "refusal"), CASES)
def test_fixed_text_parses_and_no_longer_raises_the_fixed_codes(opts: str, sql: str, history: tuple[str, ...],
                                                                 refusal: str | None) -> None:
    fixed, codes, remaining = fix_everything(opts, sql, history)
    assert codes
    assert len(parse(fixed).errors) <= len(parse(sql).errors), fixed
    assert not codes & set(remaining), (codes & set(remaining), fixed)


def _apply(pg_server: Any, opts: str, history: tuple[str, ...], sql: str) -> tuple[str | None, dict[str, Any]]:
    """Apply the guide's tables, the history and the migration to a fresh scratch database, the migration the
    way its runner would (one transaction when the example assumes one): (its first error, the catalogue).
    A page's history must apply; the fixtures' earlier migrations are applied as psql would, going on after
    the errors some of them hold on purpose."""
    everything = sql + "".join(history)
    added = set(re.findall(r"(?i)ADD COLUMN\s+(?:IF NOT EXISTS\s+)?\"?(\w+)", everything))
    columns = [f"ADD COLUMN {c} {t}" for c, t in GUIDE_COLUMNS if c not in added]
    base = GUIDE_TABLES + (f"ALTER TABLE accounts {', '.join(columns)};\n" if columns else "")
    fixture_history = "CREATE TABLE tenant_metadata" in everything
    if fixture_history:
        base = ""  # the fixtures bring their own core tables
    settings = Settings()
    settings.assume_in_transaction = bool(_settings(opts).get("assume-in-transaction", False))
    with sandbox(pg_server) as box, psycopg.connect(**box.monitor, autocommit=True) as monitor, \
            psycopg.connect(**box.migrator, autocommit=True) as conn:
        verifier = Verifier(conn, settings, set(), Limits.start(30, None), monitor=monitor)
        assert verifier.apply_plain(parse(base).statements) is None
        for text in history:
            statements = parse(text).statements
            if fixture_history:
                verifier._apply_all(statements, AUTOCOMMIT, keep_going=True)
                continue
            # the history defines its own version of a guide table: as in the claims test, drop the guide's first
            for stmt in statements:
                if stmt.kind == "CreateStmt":
                    relation = stmt.node["relation"]
                    name = f'{relation.get("schemaname", "public")}.{relation["relname"]}'
                    conn.execute(f'DROP TABLE IF EXISTS {name} CASCADE')
            problem = verifier.apply_plain(statements)
            assert problem is None, f"the page's history must apply: {problem}"
        mode = WRAPPED if settings.assume_in_transaction else AUTOCOMMIT
        error = verifier.apply_plain(parse(sql).statements, mode)
        return error, catalog.snapshot(monitor)


def _without_line(error: str | None) -> str | None:
    return None if error is None else re.sub(r" \(at line \d+\)$", "", error)


@pytest.mark.slow
@pytest.mark.parametrize(("opts", "sql", "history", "refusal"), APPLYING)
def test_fixed_migration_leaves_the_same_catalogue(pg_server: Any, opts: str, sql: str, history: tuple[str, ...],
                                                   refusal: str | None) -> None:
    fixed, codes, _ = fix_everything(opts, sql, history)
    original_error, original = _apply(pg_server, opts, history, sql)
    assert original_error is None, (
        f"the original must apply on the guide's tables (mark a page example `refused` when PostgreSQL refuses "
        f"it by design): {original_error}")
    fixed_error, after = _apply(pg_server, opts, history, fixed)
    assert fixed_error is None, (fixed_error, fixed)
    differences = catalog.differences(original, after)
    if codes & TYPE_CHANGING:
        assert all(re.search(r"timestamp with time zone|jsonb", d) for d in differences), differences
    else:
        assert differences == [], (differences, fixed)


@pytest.mark.slow
@pytest.mark.parametrize(("opts", "sql", "history", "refusal"), REFUSED)
def test_fix_of_a_refused_migration_applies_or_is_refused_alike(pg_server: Any, opts: str, sql: str,
                                                                 history: tuple[str, ...], refusal: str) -> None:
    """PostgreSQL refuses the original, as its page or fixture says; the fix either removes the cause (the
    fixed text applies) or changes nothing PostgreSQL judges (it is refused with the same message)."""
    fixed, _codes, _ = fix_everything(opts, sql, history)
    original_error, _ = _apply(pg_server, opts, history, sql)
    assert original_error is not None, "marked as refused, but PostgreSQL applied it"
    assert refusal in original_error, (refusal, original_error)
    fixed_error, _ = _apply(pg_server, opts, history, fixed)
    assert fixed_error is None or _without_line(fixed_error) == _without_line(original_error), (
        original_error, fixed_error, fixed)


def test_the_refused_fixtures_are_the_ones_on_disk() -> None:
    names = {p.stem for p in (REPO / "fixtures" / "migrations").glob("*.sql")}
    assert set(FIXTURES_REFUSED) <= names
