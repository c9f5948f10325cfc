"""Issue 26's claims, asked of a real PostgreSQL: for each class, `check` and `verify` on the same migrations
agree on the lock, the scan, the rewrite (or their absence)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.test_verify import found, project, verify

pytestmark = pytest.mark.slow


def run_both(root: Path, *args: str) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int]], dict[str, Any]]:
    """(check's findings, verify's findings, verify's payload) for the project's migrations."""
    from tests.test_first_contact import check

    _code, static, _out = check(root / "migrations", "--format", "json", "--select", "ALL", *args)
    code, payload, stderr = verify(root, "migrations", "--select", "ALL", *args)
    assert code in (0, 1), stderr
    return found(static), found(payload), payload


def messages(payload: dict[str, Any], code: str) -> list[str]:
    return [f["message"] for f in payload["findings"] if f["code"] == code]


def test_using_casts_and_collations(tmp_path: Path, pg_server: Any) -> None:
    root = project(tmp_path, {
        "001_create.sql": ("CREATE TABLE accounts (id int PRIMARY KEY, name varchar(50), code varchar(40) COLLATE \"C\","
                           " closed_at timestamptz(3));\n"
                           "CREATE INDEX idx_accounts_name ON accounts (name);\n"
                           "CREATE INDEX idx_accounts_code ON accounts (code);\n"),
        "002_widen.sql": ("SET lock_timeout = '1s';\n"
                          "ALTER TABLE accounts ALTER COLUMN name TYPE varchar(200) USING name::varchar(200);\n"
                          "ALTER TABLE accounts ALTER COLUMN closed_at TYPE timestamptz(6);\n"
                          "ALTER TABLE accounts ALTER COLUMN code TYPE varchar(80);\n"
                          "ALTER TABLE accounts ALTER COLUMN name TYPE varchar(300) USING lower(name);\n"),
    })
    static, observed, payload = run_both(root, "--ignore", "SL126")  # four ALTERs in a row: SL126's, not here
    # a cast-only USING and a larger precision: neither rewrites nor rebuilds, and check says nothing
    assert not [f for f in static + observed if f[0] == "002_widen.sql" and f[2] in (2, 3)]
    # the collation change: check's SL204 names the index, verify sees that index (only) rebuilt
    assert ("002_widen.sql", "SL204", 4) in static and ("002_widen.sql", "SL502", 4) in observed
    rebuilt = next(m for m in messages(payload, "SL502") if "idx_accounts_code" in m)
    assert rebuilt.startswith("Observed an index rebuild: public.idx_accounts_code got a new relfilenode")
    # a converting USING rewrites the table
    assert ("002_widen.sql", "SL204", 5) in static and ("002_widen.sql", "SL502", 5) in observed


def test_flyway_runs_a_script_of_concurrent_statements_without_a_transaction(tmp_path: Path, pg_server: Any) -> None:
    root = project(tmp_path, {
        "V1__accounts.sql": "CREATE TABLE accounts (id int PRIMARY KEY, name text);\n",
        "V2__indexes.sql": ("CREATE INDEX CONCURRENTLY idx_accounts_name ON accounts (name);\n"
                            "CREATE INDEX CONCURRENTLY idx_accounts_id_name ON accounts (id, name);\n"),
        "V3__reindex.sql": "REINDEX INDEX CONCURRENTLY idx_accounts_name;\n",
    })
    static, observed, _payload = run_both(root, "--runner", "flyway")
    # Flyway knows CREATE INDEX CONCURRENTLY: no transaction, no failure; it does not know REINDEX CONCURRENTLY
    assert [f for f in static if f[1] == "SL104"] == [("V3__reindex.sql", "SL104", 1)]
    assert [f for f in observed if f[1] == "SL501"] == [("V3__reindex.sql", "SL501", 1)]


def test_partition_of_and_alter_domain_lock_and_scan_as_check_says(tmp_path: Path, pg_server: Any) -> None:
    root = project(tmp_path, {
        "001_create.sql": ("CREATE TABLE events (id bigint, at date NOT NULL) PARTITION BY RANGE (at);\n"
                           "CREATE TABLE events_default PARTITION OF events DEFAULT;\n"
                           "CREATE TABLE logs (id bigint, at date NOT NULL) PARTITION BY RANGE (at);\n"
                           "CREATE DOMAIN positive_int AS integer;\n"
                           "CREATE TABLE scores (id bigint PRIMARY KEY, points positive_int);\n"
                           "INSERT INTO events SELECT g, DATE '2030-01-01' FROM generate_series(1, 10) g;\n"
                           "INSERT INTO scores VALUES (1, 5);\n"),
        "002_partitions.sql": (
            "CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\n"
            "CREATE TABLE logs_2024 PARTITION OF logs FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\n"
            "ALTER DOMAIN positive_int ADD CONSTRAINT positive_int_check CHECK (VALUE > 0);\n"),
    })
    static, observed, payload = run_both(root, "--ignore", "SL4", "--ignore", "SL3")
    mine = {(f[1], f[2]) for f in static if f[0] == "002_partitions.sql"}
    seen = {(f[1], f[2]) for f in observed if f[0] == "002_partitions.sql"}
    # the new partition: ACCESS EXCLUSIVE on the parent and its default partition, which is scanned (SL114's
    # claim is the same lock: tests/rule_cases/SL114.yaml; the quiet config here satisfies SL114)
    assert ("SL120", 1) in mine
    assert {("SL503", 1), ("SL504", 1)} <= seen
    locks = next(m for m in messages(payload, "SL503") if "events_default" in m)
    assert "ACCESS EXCLUSIVE on public.events " in locks and "ACCESS EXCLUSIVE on public.events_default" in locks
    assert any("public.events_default" in m for m in messages(payload, "SL504"))
    # no default partition: the parent is locked, nothing is scanned
    assert ("SL120", 2) not in mine and ("SL503", 2) in seen and ("SL504", 2) not in seen
    # the domain: SHARE on the table using it, and a scan of it
    assert ("SL106", 3) in mine and ("SL503", 3) in seen and ("SL504", 3) in seen
    assert any("SHARE on public.scores" in m for m in messages(payload, "SL503"))


NAMES_SQL = """
CREATE TABLE organization_subscription_entitlements (
    organization_id int PRIMARY KEY, external_reference_code text, x int CHECK (x > 0), y int, CHECK (x < y),
    UNIQUE (organization_id, external_reference_code));
CREATE TABLE aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa (
    customer_email text UNIQUE, id serial,
    ref int REFERENCES organization_subscription_entitlements (organization_id));
CREATE TABLE "überlange_tabellenbezeichnung_für_kundenverträge_mit_ä" (
    "vertragsnummer_für_größere_kunden" int UNIQUE, "straße" text);
CREATE INDEX ON organization_subscription_entitlements (lower(external_reference_code), y);
CREATE INDEX ON "überlange_tabellenbezeichnung_für_kundenverträge_mit_ä" ("straße", (length("straße")));
"""


def test_names_postgresql_gives_unnamed_objects(pg_server: Any) -> None:
    """The model's names for unnamed constraints, indexes and sequences (long and multibyte ones included) are
    the server's."""
    import psycopg

    from schemalint.engine import Engine, prepare
    from schemalint.run import enabled_codes
    from schemalint.sources.files import SourceFile
    from tests.conftest import make_settings

    settings = make_settings()
    engine = Engine(settings, enabled_codes(settings))
    engine.run([prepare(SourceFile("names.sql", None, data=NAMES_SQL.encode()))])
    mine = {c.name for t in engine.model.tables.values() for c in t.constraints.values()}
    mine |= {name[1] for name in engine.model.indexes} | {name[1] for name in engine.model.sequences}
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS names_check CASCADE; CREATE SCHEMA names_check")
        conn.execute("SET search_path = names_check")
        conn.execute(NAMES_SQL)
        theirs = {row[0] for row in conn.execute(
            "SELECT conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = 'names_check' UNION "
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'names_check' AND relkind IN ('i', 'S')")}
        conn.execute("DROP SCHEMA names_check CASCADE")
    # the server lists each constraint and its index (same name) once: the sets compare directly
    assert theirs == mine, (sorted(theirs - mine), sorted(mine - theirs))
