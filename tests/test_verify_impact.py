"""verify --queries / --rows on a real server: the application's queries and writes before and after each
migration (verify/impact.py): SL509, SL510's write rows, SL511, and the reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from schemalint.config import settings_from_table
from schemalint.report import ReportOptions, render
from schemalint.run import RunRequest
from schemalint.verify.command import VerifyOptions, render_impact, verify

pytestmark = pytest.mark.slow

QUERIES = """-- name: accounts_by_score
SELECT account_id FROM accounts WHERE score = 4242;

-- name: account_names
SELECT account_name FROM accounts WHERE account_id = 7;

-- name: rename_one
UPDATE accounts SET account_name = 'x' WHERE account_id = 8;
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "001_accounts.sql").write_text(
        "CREATE TABLE accounts (account_id bigint PRIMARY KEY, account_name text NOT NULL, score integer NOT NULL,"
        " region text);\n")
    (folder / "002_indexes.sql").write_text(
        "SET lock_timeout = '2s';\n"
        "CREATE INDEX idx_accounts_score ON accounts (score);\n"
        "CREATE INDEX idx_accounts_region ON accounts (region);\n"
        "ALTER TABLE accounts ADD CONSTRAINT chk_accounts_score CHECK (score >= 0);\n")
    (folder / "003_drop.sql").write_text("SET lock_timeout = '2s';\nALTER TABLE accounts DROP COLUMN account_name;\n")
    (tmp_path / "queries.sql").write_text(QUERIES)
    return tmp_path


def run(project: Path, pg_server: Any, **options: Any) -> Any:
    settings = settings_from_table({"locks": {"runner-sets-lock-timeout": True}}, "<test>")
    return verify(RunRequest([str(project / "m")], settings, use_cache=False),
                  VerifyOptions(dsn=pg_server.dsn, **options))[0]


def test_queries_and_writes_before_and_after(project: Path, pg_server: Any) -> None:
    result = run(project, pg_server, rows=20000, queries=[str(project / "queries.sql")])
    impact = result.impact
    by_name: dict[str, list[dict[str, Any]]] = {}
    for q in impact["queries"]:
        by_name.setdefault(q["name"], []).append(q)
    # the index migration: the score query leaves the sequential scan for the new index, and gets faster
    score = next(q for q in by_name["accounts_by_score"] if "idx_accounts_score" in q["index_after"])
    assert score["plan_before"] == "Seq Scan" and score["after_ms"] < score["before_ms"]
    # writes into the changed table were measured, with what changed
    (write,) = [w for w in impact["writes"] if w["table"] == "public.accounts"]
    assert write["rows"] == 1000 and write["before_ms"] > 0 and write["after_ms"] > 0
    assert write["because"] == ["new index idx_accounts_score", "new index idx_accounts_region",
                                "new CHECK chk_accounts_score"]
    found = {(f.file.rsplit("/", 1)[-1], f.code, f.span.line) for f in result.findings}
    # an index no listed query uses, at its CREATE INDEX
    assert ("002_indexes.sql", "SL511", 3) in found and ("002_indexes.sql", "SL511", 2) not in found
    # the dropped column breaks a listed query (and the update): SL509 with PostgreSQL's error, at the DROP
    broken = [f for f in result.findings if f.code == "SL509"]
    assert {f.span.line for f in broken} == {2} and all(f.file.endswith("003_drop.sql") for f in broken)
    assert any('column "account_name" does not exist' in f.message for f in broken)
    assert "Queries and writes, before → after each migration" in render_impact(impact)
    text = render("json", result, ReportOptions(color=False))
    assert '"impact": {"queries": [' in text
    markdown = render("markdown", result, ReportOptions(color=False))
    assert isinstance(markdown, str)


def test_nothing_measured_without_queries_or_rows(project: Path, pg_server: Any) -> None:
    result = run(project, pg_server)
    assert result.impact is None
    assert not [f for f in result.findings if f.code in ("SL509", "SL510", "SL511")]


def test_claims_are_set_beside_what_the_server_showed(project: Path, pg_server: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(project, pg_server)
    index = next(c for c in result.claims if c["file"].endswith("002_indexes.sql") and c["line"] == 2)
    assert index["claimed"]["locks"] == {"public.accounts": "SHARE"} and index["status"] == "confirmed"
    check = next(c for c in result.claims if c["line"] == 4)
    assert check["claimed"]["scan"] and check["observed"]["scan"] and check["status"] == "confirmed"
    assert any(n.startswith("claims: ") and "0 mismatches" in n for n in result.notes)
    assert not result.internal_errors
    # a lock table that says the wrong thing is caught by the server, as a schemalint bug
    from schemalint.model import locks

    monkeypatch.setitem(locks._LOCKS, "IndexStmt", lambda node, r: [
        locks.LockTaken(r.rv(node.get("relation")), locks.LockMode.ROW_EXCLUSIVE, "CREATE INDEX")])
    wrong = run(project, pg_server)
    assert any(c["status"] == "mismatch" and c["line"] == 2 for c in wrong.claims)
    assert any("the lock table says ROW EXCLUSIVE on public.accounts; PostgreSQL took SHARE" in e.message
               for e in wrong.internal_errors)


def test_risk_per_file_beside_the_header(tmp_path: Path, pg_server: Any) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "001_accounts.sql").write_text("CREATE TABLE accounts (account_id bigint PRIMARY KEY, score int);\n")
    (folder / "002_check.sql").write_text(
        "-- MIGRATION: score check\n-- Risk Assessment: Low\n\nSET lock_timeout = '2s';\n"
        "ALTER TABLE accounts ADD CONSTRAINT chk_accounts_score CHECK (score >= 0);\n")
    (folder / "003_index.sql").write_text("CREATE INDEX CONCURRENTLY idx_accounts_score ON accounts (score);\n")
    result = run(tmp_path, pg_server, rows=1000)
    by_file = {r["file"].rsplit("/", 1)[-1]: r for r in result.risk}
    assert by_file["002_check.sql"]["risk"] == "high" and by_file["002_check.sql"]["declared"] == "Low"
    assert by_file["001_accounts.sql"]["risk"] == "none"
    assert any("002_check.sql: its Risk Assessment says 'Low'; verify measured high" in n for n in result.notes)
