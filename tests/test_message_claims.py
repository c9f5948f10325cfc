"""Every lock, rewrite and scan a static message claims, for every bad example on every SL1xx/SL2xx rule
page, is compared with what a real PostgreSQL observes for that statement (`verify`'s observation). A claim
the server contradicts fails the test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from schemalint.config import Settings
from schemalint.model.locks import LockMode
from schemalint.sql.parse import Statement, parse
from schemalint.verify import observe
from schemalint.verify.runner import Verifier
from schemalint.verify.sandbox import sandbox
from schemalint.verify.timeouts import Limits
from tests.conftest import REPO, lint_files
from tests.test_rule_pages import PAGES, _settings, examples

_MODES = {mode.label: mode for mode in LockMode}
_LOCK_CLAIM = re.compile(
    r"\ban? (?P<mode>ACCESS EXCLUSIVE|SHARE ROW EXCLUSIVE|SHARE UPDATE EXCLUSIVE|ROW EXCLUSIVE|ROW SHARE|ACCESS SHARE"
    r"|EXCLUSIVE|SHARE) lock on (?P<tables>.+?)(?= \(|,|;|:| for | while | blocking|$)")
_REWRITE_CLAIM = re.compile(r"\b(rewrites (the table|every row)|while it rewrites|rewrite[sd]? the table)\b")
_SCAN_CLAIM = re.compile(r"\b(scans every row|checks every existing row|for every existing row|scans the whole table"
                         r"|full (table )?scan)\b")


@dataclass(frozen=True)
class Claims:
    locks: dict[str, LockMode]
    rewrite: bool
    scan: bool


def claims_of(message: str) -> Claims:
    head = message.split(" help:")[0]
    locks: dict[str, LockMode] = {}
    for match in _LOCK_CLAIM.finditer(head):
        for table in match.group("tables").split(" and "):
            table = table.strip()
            if not table or table.startswith("the ") or " " in table:
                continue
            locks[table if "." in table else f"public.{table}"] = _MODES[match.group("mode")]
    negated = re.search(r"\b(no rewrite|without a rewrite|does not rewrite|not rewrite)\b", head)
    return Claims(locks, bool(_REWRITE_CLAIM.search(head)) and not negated, bool(_SCAN_CLAIM.search(head)))


GUIDE_TABLES = (REPO / "fixtures" / "migrations" / "20241001_090000_create_core_tables.sql").read_text() + """
-- what the pages' examples also name as already there
CREATE TABLE users (id bigint PRIMARY KEY);
CREATE TABLE "Opportunities" (id bigint PRIMARY KEY);
CREATE FUNCTION compute_default_score() RETURNS numeric LANGUAGE sql VOLATILE AS $$ SELECT random()::numeric $$;
CREATE MATERIALIZED VIEW account_revenue_summary AS SELECT tenant_id, count(*) AS n FROM accounts GROUP BY 1;
CREATE UNIQUE INDEX idx_account_revenue_summary ON account_revenue_summary (tenant_id);
"""
GUIDE_COLUMNS = [("email", "text"), ("region", "text"), ("customer_health_score", "numeric(3,2)")]  # unless added


def _relation_name(stmt: Statement) -> str:
    relation = stmt.node.get("relation") or {}
    return f"{relation.get('schemaname', 'public')}.{relation.get('relname', '')}"


def _claimed(page: Path, opts: str, sql: str, history: str) -> list[tuple[Any, Claims]]:
    """The example's findings of the page's rule whose messages claim a lock, a rewrite or a scan."""
    result = lint_files({"20240101_000000_history.sql": history, "20240201_000000_example.sql": sql},
                        {**_settings(opts), "select": [page.name[:5]]})
    found = [(f, claims_of(f.message)) for f in result.findings if f.file.endswith("example.sql")]
    return [(f, c) for f, c in found if c.locks or c.rewrite or c.scan]


# every bad example whose message claims something the server can be asked about (a tablespace needs a
# superuser and a folder on the server's host: that one example is left to the page's static test)
CASES = [
    pytest.param(page, i, opts, sql, history, id=f"{page.stem[:5]}-{i}")
    for page in sorted(PAGES.glob("SL[12]*.md"))
    for i, (kind, opts, sql, history) in enumerate(examples(page))
    if kind == "bad" and "TABLESPACE" not in sql.upper() and _claimed(page, opts, sql, history)
]


@pytest.fixture
def verifier(pg_server: Any) -> Iterator[Verifier]:
    with sandbox(pg_server) as box, psycopg.connect(**box.monitor, autocommit=True) as monitor, \
            psycopg.connect(**box.migrator, autocommit=True) as conn:
        yield Verifier(conn, Settings(), {"SL501"}, Limits.start(30, None), monitor=monitor)


def _lines(stmt: Statement) -> range:
    span = stmt.span
    return range(span.line, span.end_line + 1)


@pytest.mark.slow
@pytest.mark.parametrize(("page", "number", "opts", "sql", "history"), CASES)
def test_message_claims_agree_with_the_server(verifier: Verifier, page: Path, number: int, opts: str, sql: str,
                                              history: str) -> None:
    claimed = _claimed(page, opts, sql, history)
    # the pages' examples build on the guide's tables (accounts, opportunities, tenant_metadata) as existing
    # tables: create them first, as the fixtures' first migration does, then the page's own history
    added = set(re.findall(r"(?i)ADD COLUMN\s+(?:IF NOT EXISTS\s+)?\"?(\w+)", sql))
    columns = [f"ADD COLUMN {c} {t}" for c, t in GUIDE_COLUMNS if c not in added]
    base = parse(GUIDE_TABLES + (f"ALTER TABLE accounts {', '.join(columns)};" if columns else "")).statements
    assert verifier.apply_plain(base) is None
    page_history = parse(history).statements
    existing = {r.name for r in observe.relations(verifier.monitor).values()}
    for name in {_relation_name(s) for s in page_history if s.kind == "CreateStmt"} & existing:
        verifier.conn.execute(f"DROP TABLE {name} CASCADE")  # the page defines its own version of it
    assert verifier.apply_plain(page_history) is None, "the page's history must apply"
    statements = parse(sql).statements
    observed: dict[int, observe.Observation] = {}
    for stmt in statements:
        watched = observe.relations(verifier.monitor)
        seen, error = verifier._observe(stmt, watched, in_user_tx=False)
        assert error is None, f"{page.name} example {number} fails on PostgreSQL: {error}"
        for line in _lines(stmt):
            observed.setdefault(line, seen)
    for finding, claims in claimed:
        seen = observed.get(finding.span.line)
        assert seen is not None, f"no statement at line {finding.span.line}"
        if not seen.observed:
            continue  # autocommit-only statements hold no lock the observer can see afterwards
        for table, mode in claims.locks.items():
            assert seen.locks.get(table) == mode, (
                f"{page.name} example {number}: the message claims {mode.label} on {table}, the server took "
                f"{seen.locks.get(table, 'no lock')} ({finding.message})")
        if claims.rewrite:
            assert seen.rewritten, f"{page.name} example {number}: claims a rewrite the server did not do"
        if claims.scan:
            assert seen.scanned or seen.rewritten, (
                f"{page.name} example {number}: claims a scan the server did not do ({finding.message})")


def test_claims_are_read_from_messages() -> None:
    claims = claims_of("ALTER TABLE takes an ACCESS EXCLUSIVE lock on t (blocking every read and write) and a "
                       "SHARE ROW EXCLUSIVE lock on u (blocking writes …) while it scans every row")
    assert claims.locks == {"public.t": LockMode.ACCESS_EXCLUSIVE, "public.u": LockMode.SHARE_ROW_EXCLUSIVE}
    assert claims.scan and not claims.rewrite
    assert claims_of("takes a SHARE lock on accounts and orders for the whole build").locks == {
        "public.accounts": LockMode.SHARE, "public.orders": LockMode.SHARE}
