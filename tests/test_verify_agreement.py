"""Every static rule that claims a rewrite or a scan is checked on a real PostgreSQL: if the server
disagrees, the rule is wrong."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from schemalint.config import Settings
from schemalint.model.locks import LockMode
from schemalint.sql.parse import parse
from schemalint.verify import observe
from schemalint.verify.runner import Verifier
from schemalint.verify.sandbox import sandbox
from schemalint.verify.timeouts import Limits
from tests.conftest import REPO, lint_files

SEED = """
CREATE TABLE accounts (id int PRIMARY KEY, name varchar(50), revenue numeric(10,2), region text, score int);
INSERT INTO accounts SELECT g, 'n' || g, g, 'r', g FROM generate_series(1, 50) g;
CREATE TABLE opportunities (id int PRIMARY KEY, account_id int, amount numeric);
INSERT INTO opportunities SELECT g, g, g FROM generate_series(1, 50) g;
CREATE INDEX idx_accounts_name ON accounts (name);
CREATE MATERIALIZED VIEW account_names AS SELECT id FROM accounts;
"""


_PARTITIONED = """CREATE TABLE ev (k int NOT NULL, v text) PARTITION BY RANGE (k);
CREATE TABLE ev_0 PARTITION OF ev FOR VALUES FROM (-100) TO (1);
CREATE TABLE ev_1 (k int NOT NULL, v text);
INSERT INTO ev_1 SELECT g, 'v' FROM generate_series(1, 50) g;
"""


@dataclass(frozen=True)
class Claim:
    rule: str
    sql: str
    rewrite: bool | None = None
    scan: bool | None = None
    lock: LockMode | None = None  # strongest lock observed on accounts (or the first table named)
    setup: str = ""


CLAIMS = [
    Claim("SL204", "ALTER TABLE accounts ALTER COLUMN score TYPE bigint", rewrite=True, lock=LockMode.ACCESS_EXCLUSIVE),
    Claim("SL204", "ALTER TABLE accounts ALTER COLUMN name TYPE varchar(200)", rewrite=False),
    Claim("SL204", "ALTER TABLE accounts ALTER COLUMN name TYPE text", rewrite=False),
    Claim("SL204", "ALTER TABLE accounts ALTER COLUMN revenue TYPE numeric(12,2)", rewrite=False),
    Claim("SL204", "ALTER TABLE accounts ALTER COLUMN revenue TYPE numeric", rewrite=False),
    Claim("SL204", "ALTER TABLE accounts ALTER COLUMN revenue TYPE numeric(10,3)", rewrite=True),
    # precision increases and (PG12+, session time zone UTC) timestamp → timestamptz: no rewrite
    Claim("SL204", "ALTER TABLE accounts ALTER COLUMN ts TYPE timestamptz(6)", rewrite=False,
          setup="ALTER TABLE accounts ADD COLUMN ts timestamptz(3);"),
    Claim("SL204", "ALTER TABLE accounts ALTER COLUMN ts TYPE timestamptz(3)", rewrite=True,
          setup="ALTER TABLE accounts ADD COLUMN ts timestamptz;"),
    Claim("SL204", "ALTER TABLE accounts ALTER COLUMN ts TYPE timestamp", rewrite=False,
          setup="ALTER TABLE accounts ADD COLUMN ts timestamp(2);"),
    Claim("SL204", "ALTER TABLE accounts ALTER COLUMN iv TYPE interval(4)", rewrite=False,
          setup="ALTER TABLE accounts ADD COLUMN iv interval(2);"),
    Claim("SL204", "ALTER TABLE accounts ALTER COLUMN iv TYPE interval", rewrite=False,
          setup="ALTER TABLE accounts ADD COLUMN iv interval day;"),
    Claim("SL204", "ALTER TABLE accounts ALTER COLUMN tm TYPE time(4)", rewrite=False,
          setup="ALTER TABLE accounts ADD COLUMN tm time(2);"),
    Claim("SL204", "ALTER TABLE accounts ALTER COLUMN ts TYPE timestamptz", rewrite=False,
          setup="ALTER TABLE accounts ADD COLUMN ts timestamp;\nSET timezone = 'UTC';"),
    Claim("SL204", "ALTER TABLE accounts ALTER COLUMN ts TYPE timestamptz", rewrite=True,
          setup="ALTER TABLE accounts ADD COLUMN ts timestamp;\nSET timezone = 'Europe/Berlin';"),
    Claim("SL110", "ALTER TABLE accounts ADD COLUMN created timestamptz DEFAULT now()", rewrite=False, scan=False),
    Claim("SL110", "ALTER TABLE accounts ADD COLUMN tier text DEFAULT 'standard'", rewrite=False, scan=False),
    Claim("SL110", "ALTER TABLE accounts ADD COLUMN public_id uuid DEFAULT gen_random_uuid()", rewrite=True),
    Claim("SL110", "ALTER TABLE accounts ADD COLUMN r float8 DEFAULT random()", rewrite=True),
    Claim("SL111", "ALTER TABLE accounts ADD COLUMN w numeric GENERATED ALWAYS AS (revenue * 2) STORED", rewrite=True),
    Claim("SL112", "ALTER TABLE accounts ADD COLUMN n bigserial", rewrite=True),
    Claim("SL112", "ALTER TABLE accounts ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY", rewrite=True),
    Claim("SL108", "ALTER TABLE accounts ALTER COLUMN region SET NOT NULL", scan=True, lock=LockMode.ACCESS_EXCLUSIVE),
    Claim("SL108", "ALTER TABLE accounts ALTER COLUMN region SET NOT NULL", scan=False,
          setup="ALTER TABLE accounts ADD CONSTRAINT chk_nn CHECK (region IS NOT NULL) NOT VALID;\n"
                "ALTER TABLE accounts VALIDATE CONSTRAINT chk_nn;"),
    Claim("SL108", "ALTER TABLE accounts ALTER COLUMN region SET NOT NULL", scan=True,
          setup="ALTER TABLE accounts ADD CONSTRAINT chk_len CHECK (length(region) > 0);"),
    Claim("SL108", "ALTER TABLE accounts ALTER COLUMN region SET NOT NULL", scan=False,
          setup="ALTER TABLE accounts ALTER COLUMN region SET NOT NULL;"),  # already NOT NULL: nothing happens
    Claim("SL106", "ALTER TABLE accounts ADD CONSTRAINT chk_score CHECK (score >= 0)", scan=True,
          lock=LockMode.ACCESS_EXCLUSIVE),
    Claim("SL106", "ALTER TABLE accounts ADD CONSTRAINT chk_score CHECK (score >= 0) NOT VALID", scan=False),
    Claim("SL106", "ALTER TABLE accounts ADD COLUMN s numeric DEFAULT 0.5 CHECK (s BETWEEN 0 AND 1)", scan=True,
          rewrite=False, lock=LockMode.ACCESS_EXCLUSIVE),
    Claim("SL107", "ALTER TABLE accounts VALIDATE CONSTRAINT chk_score", scan=True,
          lock=LockMode.SHARE_UPDATE_EXCLUSIVE,
          setup="ALTER TABLE accounts ADD CONSTRAINT chk_score CHECK (score >= 0) NOT VALID;"),
    Claim("SL105", "ALTER TABLE opportunities ADD CONSTRAINT fk_opp FOREIGN KEY (account_id) REFERENCES accounts (id)",
          scan=True, lock=LockMode.SHARE_ROW_EXCLUSIVE),
    Claim("SL105", "ALTER TABLE opportunities ADD CONSTRAINT fk_opp FOREIGN KEY (account_id) REFERENCES accounts (id) "
                   "NOT VALID", scan=False, lock=LockMode.SHARE_ROW_EXCLUSIVE),
    Claim("SL105", "ALTER TABLE opportunities ADD COLUMN owner_id int REFERENCES accounts (id)", scan=False),
    Claim("SL109", "ALTER TABLE accounts ADD CONSTRAINT uk_name UNIQUE (name)", scan=True,
          lock=LockMode.ACCESS_EXCLUSIVE),
    Claim("SL102", "CREATE INDEX idx_accounts_region ON accounts (region)", scan=True, lock=LockMode.SHARE),
    Claim("SL103", "DROP INDEX idx_accounts_name", lock=LockMode.ACCESS_EXCLUSIVE),
    Claim("SL117", "CLUSTER accounts USING accounts_pkey", rewrite=True, lock=LockMode.ACCESS_EXCLUSIVE),
    Claim("SL117", "REINDEX TABLE accounts", rewrite=True, lock=LockMode.SHARE),
    Claim("SL117", "VACUUM FULL accounts", rewrite=True),
    Claim("SL117", "ALTER TABLE accounts SET UNLOGGED", rewrite=True, lock=LockMode.ACCESS_EXCLUSIVE),
    Claim("SL117", "REFRESH MATERIALIZED VIEW account_names", lock=LockMode.ACCESS_EXCLUSIVE),
    Claim("SL208", "TRUNCATE accounts CASCADE", lock=LockMode.ACCESS_EXCLUSIVE),
    # SL120: ATTACH scans the partition (SHARE UPDATE EXCLUSIVE on the parent, PG12+) unless a validated CHECK
    # on the key proves the bound
    Claim("SL120", "ALTER TABLE ev ATTACH PARTITION ev_1 FOR VALUES FROM (1) TO (100)", scan=True,
          lock=LockMode.SHARE_UPDATE_EXCLUSIVE, setup=_PARTITIONED),
    Claim("SL120", "ALTER TABLE ev ATTACH PARTITION ev_1 FOR VALUES FROM (1) TO (100)", scan=False,
          setup=_PARTITIONED + "ALTER TABLE ev_1 ADD CONSTRAINT chk_b CHECK (k IS NOT NULL AND k >= 1 AND k < 100);"),
    Claim("SL121", "ALTER TABLE ev DETACH PARTITION ev_0", lock=LockMode.ACCESS_EXCLUSIVE, setup=_PARTITIONED),
    # SL122: a primary key on a nullable column sets NOT NULL with a scan; on a NOT NULL one, no scan
    Claim("SL122", "ALTER TABLE accounts ADD CONSTRAINT pk2 PRIMARY KEY USING INDEX idx_u", scan=True,
          lock=LockMode.ACCESS_EXCLUSIVE,
          setup="ALTER TABLE accounts DROP CONSTRAINT accounts_pkey;\nCREATE UNIQUE INDEX idx_u ON accounts (score);"),
    Claim("SL122", "ALTER TABLE accounts ADD CONSTRAINT pk2 PRIMARY KEY USING INDEX idx_u", scan=False,
          setup="ALTER TABLE accounts DROP CONSTRAINT accounts_pkey;\nCREATE UNIQUE INDEX idx_u ON accounts (id);"),
]


@pytest.fixture
def verifier(pg_server: Any) -> Iterator[Verifier]:
    # the same sandbox `verify` uses: the claims hold for the unprivileged role, observed by the monitor
    with sandbox(pg_server) as box, psycopg.connect(**box.monitor, autocommit=True) as monitor, \
            psycopg.connect(**box.migrator, autocommit=True) as conn:
        yield Verifier(conn, Settings(), {"SL501", "SL502", "SL503", "SL504"}, Limits.start(30, None),
                       monitor=monitor)


def _statements(sql: str) -> list[Any]:
    return parse(sql).statements


@pytest.mark.parametrize("claim", CLAIMS, ids=[f"{c.rule}:{c.sql[:60]}:{c.setup[-30:]}" for c in CLAIMS])
def test_static_claim_holds_on_the_server(verifier: Verifier, claim: Claim) -> None:
    assert verifier.apply_plain(_statements(SEED + claim.setup)) is None
    watched = observe.relations(verifier.monitor)
    (stmt,) = _statements(claim.sql)
    seen, error = verifier._observe(stmt, watched, in_user_tx=False)
    assert error is None, error
    if claim.rewrite is not None:
        assert bool(seen.rewritten) == claim.rewrite, seen
    if claim.scan is not None:
        assert bool(seen.scanned) == claim.scan, seen
    if claim.lock is not None:
        table = re.search(r"(?:TABLE|ON|VIEW|CLUSTER|INDEX|TRUNCATE)\s+(?:ONLY\s+)?(\w+)", claim.sql)
        assert table is not None
        name = table.group(1)
        name = "accounts" if name.startswith("idx_") or name == "TABLE" else name
        assert seen.observed
        assert seen.locks.get(f"public.{name}") == claim.lock, seen.locks


@pytest.mark.parametrize("claim", [c for c in CLAIMS if c.rule == "SL204"],
                         ids=[f"{c.sql[-40:]}:{c.setup[-30:]}" for c in CLAIMS if c.rule == "SL204"])
def test_sl204_flags_exactly_the_type_changes_the_server_rewrites(claim: Claim) -> None:
    history = SEED.replace("INSERT", "-- INSERT") + claim.setup.split("\nSET")[0]
    migration = ("SET" + claim.setup.split("\nSET", 1)[1] + "\n" if "\nSET" in claim.setup else "") + claim.sql + ";"
    result = lint_files({"1.sql": history, "2.sql": migration}, {"select": ["SL204"]})
    assert bool([f for f in result.findings if f.file == "2.sql"]) == bool(claim.rewrite), claim


def test_every_page_that_claims_a_rewrite_or_scan_is_covered() -> None:
    covered = {c.rule for c in CLAIMS}
    for page in sorted((REPO / "rules").glob("SL1*.md")):
        text = page.read_text(encoding="utf-8").lower()
        if re.search(r"\brewrit|\bscans?\b", text):
            assert page.name[:5] in covered or page.name[:5] in ("SL101", "SL104", "SL114", "SL115", "SL116", "SL119"), (
                f"{page.name} claims a rewrite or a scan that no server test checks")
