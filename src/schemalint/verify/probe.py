"""``verify --probe``: a second session that keeps reading and writing the tables a statement locks while the
statement runs, and measures how long its queries could not proceed.

Each attempt runs with ``lock_timeout = 1ms``: it either proceeds at once or gives up almost immediately
(SQLSTATE 55P03), so the probe can never queue behind the migration for long, never deadlock it, and never
outlive the statement. The blocked span of a table is the wall time covered by attempts that could not get
their lock — measured, not read from pg_locks. Reads are ``SELECT … LIMIT 1``; writes an ``INSERT`` of one
synthetic row, rolled back (or, when no row can be made, the ROW EXCLUSIVE lock an INSERT takes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LOCK_NOT_AVAILABLE = "55P03"


def tables_named(node: Any, default_schema: str) -> set[str]:
    """Every relation a statement names (``format('%I.%I')`` spelling, as the server lists them)."""
    from schemalint.sql.names import quote_ident, range_var

    found: set[tuple[str, str]] = set()
    stack = [node]
    while stack:  # the tree's RangeVars, wrapped ({"RangeVar": …}) or not ("relation": {"relname": …})
        item = stack.pop()
        if isinstance(item, dict):
            if "relname" in item:
                found.add(range_var(item, default_schema))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return {f"{quote_ident(schema)}.{quote_ident(name)}" for schema, name in found}


@dataclass(slots=True)
class Blocked:
    read_ms: float = 0.0
    write_ms: float = 0.0
    reads: int = 0  # attempts made
    writes: int = 0


@dataclass(slots=True)
class ProbeResult:
    tables: dict[str, Blocked] = field(default_factory=dict)

    @property
    def read_ms(self) -> float:
        return max((b.read_ms for b in self.tables.values()), default=0.0)

    @property
    def write_ms(self) -> float:
        return max((b.write_ms for b in self.tables.values()), default=0.0)


class Probe:
    """Start before the statement, stop when it returns: ``with probe.around(tables): run(statement)``."""

    def __init__(self, connect: Callable[[], Any], insert_sql: Callable[[str], str | None]) -> None:
        self._connect = connect
        self.insert_sql = insert_sql  # table → an INSERT of one synthetic row (None: take INSERT's lock instead)
        self._conn: Any | None = None

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
            self._conn.execute("SET lock_timeout = '1ms'")
            self._conn.execute("SET statement_timeout = '5s'")
        return self._conn

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()

    def around(self, tables: list[str]) -> _Running:
        return _Running(self, tables)

    def attempt(self, sql: str, rollback: bool) -> tuple[bool, float, float]:
        """Run ``sql`` once: (was it blocked, when it started, when it ended)."""
        import psycopg

        conn = self._connection()
        started = time.perf_counter()
        blocked = False
        try:
            if rollback:
                conn.execute("BEGIN")
            conn.execute(sql)
        except psycopg.Error as exc:
            blocked = getattr(exc, "sqlstate", None) == LOCK_NOT_AVAILABLE
        finally:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
        return blocked, started, time.perf_counter()


class _Span:
    """Consecutive blocked attempts of one kind on one table make one blocked span, from the start of the
    first to the end of the last (the time between attempts counts: the query could not have run then
    either)."""

    def __init__(self) -> None:
        self.start: float | None = None
        self.end = 0.0
        self.total = 0.0

    def record(self, blocked: bool, started: float, ended: float) -> None:
        if blocked:
            if self.start is None:
                self.start = started
            self.end = ended
        else:
            self.close()

    def close(self) -> None:
        if self.start is not None:
            self.total += self.end - self.start
            self.start = None


class _Running:
    def __init__(self, probe: Probe, tables: list[str]) -> None:
        self.probe = probe
        self.tables = tables
        self.result = ProbeResult({t: Blocked() for t in tables})
        self._stop = threading.Event()
        self._first_round = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="schemalint-probe", daemon=True)
        self.error: str | None = None

    def __enter__(self) -> _Running:
        if self.tables:
            self._thread.start()
            self._first_round.wait(5)  # contend from before the statement takes its lock
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def _loop(self) -> None:
        spans = {t: (_Span(), _Span()) for t in self.tables}
        try:
            writes = {t: self.probe.insert_sql(t) or f"LOCK TABLE {t} IN ROW EXCLUSIVE MODE" for t in self.tables}
            while True:
                stopping = self._stop.is_set()  # one more round after the statement ended, then stop
                for table in self.tables:
                    read_span, write_span = spans[table]
                    read_span.record(*self.probe.attempt(f"SELECT 1 FROM {table} LIMIT 1", rollback=False))
                    write_span.record(*self.probe.attempt(writes[table], rollback=True))
                    self.result.tables[table].reads += 1
                    self.result.tables[table].writes += 1
                self._first_round.set()
                if stopping:
                    break
                time.sleep(0.0005)
        except Exception as exc:  # the probe must never stop the run: what it could not measure is said
            self.error = f"{type(exc).__name__}: {exc}"
            self._first_round.set()
        for table, (read_span, write_span) in spans.items():
            read_span.close()
            write_span.close()
            self.result.tables[table].read_ms = read_span.total * 1000
            self.result.tables[table].write_ms = write_span.total * 1000
