"""How many rows ``verify`` puts in each table (``--rows``, ``[tool.schemalint.verify] rows``, ``--rows-from``),
how many production has (for SL508), and the header's ``Estimated Duration`` read as a duration."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from schemalint.verify.server import clip

# reltuples per table of a real (staging) database, read in one catalog query, in a read-only transaction
RELTUPLES = """
    SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), GREATEST(c.reltuples, 0)::bigint
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%'"""


@dataclass(slots=True)
class RowsPolicy:
    default: int = 0
    per_table: dict[str, int] = field(default_factory=dict)  # "public.accounts" (or "accounts") → rows
    production: dict[str, int] = field(default_factory=dict)  # rows in production, for SL508's scaling
    max_rows: int = 5_000_000
    tenants: int = 10

    @staticmethod
    def _key(table: str, known: dict[str, int]) -> int | None:
        if table in known:
            return known[table]
        short = table.split(".", 1)[-1]
        return known.get(short)

    def rows_for(self, table: str) -> int:
        chosen = self._key(table, self.per_table)
        return min(self.default if chosen is None else chosen, self.max_rows)

    def production_for(self, table: str) -> int | None:
        return self._key(table, self.production)


def read_reltuples(dsn: str) -> dict[str, int]:
    """Row estimates per table from a staging database (read-only: one catalog query, nothing written)."""
    import psycopg

    try:
        with psycopg.connect(dsn, autocommit=False) as conn:
            conn.execute("SET TRANSACTION READ ONLY")
            rows = conn.execute(RELTUPLES).fetchall()
            conn.rollback()
    except psycopg.Error as exc:
        raise ValueError(f"--rows-from: cannot read row counts: {clip(str(exc))}") from None
    return {str(name): int(count) for name, count in rows}


_UNITS = {"ms": 0.001, "millisecond": 0.001, "s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0,
          "minute": 60.0, "h": 3600.0, "hr": 3600.0, "hour": 3600.0, "d": 86400.0, "day": 86400.0}
_ESTIMATE = re.compile(r"^\s*(?:<|<=|~|≈|about|approx\.?|approximately|under|up to)?\s*(\d+(?:\.\d+)?)\s*"
                       r"([a-z]+?)s?\s*(?:\(.*\))?\s*$", re.I)


def parse_estimate(text: str) -> float | None:
    """``< 1 minute``, ``~5 minutes``, ``30 seconds``, ``2h``, ``500ms`` → seconds; None if unreadable."""
    match = _ESTIMATE.match(text.strip())
    if match is None:
        return None
    unit = _UNITS.get(match.group(2).lower())
    return float(match.group(1)) * unit if unit is not None else None


def policy_from(settings: Any, rows: int | None, rows_from: dict[str, int] | None, max_rows: int | None) -> RowsPolicy | None:
    """The fill policy of a run, or None when verify runs on empty tables (no --rows, --rows-from or config)."""
    configured: dict[str, Any] = dict(settings.option("verify", "rows"))
    production = {str(k): int(v) for k, v in dict(settings.option("verify", "production-rows")).items()}
    if rows is None and rows_from is None and not configured:
        return None
    default = int(configured.pop("default", 0) or 0)
    if rows is not None:
        default = rows
    policy = RowsPolicy(default=default, per_table={str(k): int(v) for k, v in configured.items()},
                        production=production, tenants=int(settings.option("verify", "tenants")))
    if max_rows is not None:
        policy.max_rows = max_rows
    if rows_from is not None:
        policy.per_table.update(rows_from)
        policy.production = {**rows_from, **production}
    return policy
