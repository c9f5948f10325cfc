"""What a migration does to the application afterwards (the guide's performance tests), measured on the scratch
database's synthetic rows: each listed query (``verify --queries``) with ``EXPLAIN (ANALYZE, BUFFERS)`` before and
after the migration, and inserts of 1,000 synthetic rows into every existing table the migration gives a new
index, constraint, trigger or foreign key (``verify --rows``). SL509 query-slower, SL510 write-overhead, SL511
unused-new-index.

Figures are medians of several runs after a warm-up; a change within the noise the "before" runs showed (their
spread) is never flagged."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemalint.findings import Finding
from schemalint.sql.names import quote_ident, range_var
from schemalint.sql.nodes import unwrap
from schemalint.sql.parse import Statement, parse
from schemalint.sql.text import SourceText
from schemalint.verify.probe import tables_named

RUNS = 5  # timed runs per figure, after one warm-up
WRITE_ROWS = 1000
MIN_SLOWER_MS = 5.0  # a query must lose at least this much to be called slower


@dataclass(frozen=True, slots=True)
class Query:
    name: str
    sql: str
    writes: bool  # INSERT/UPDATE/DELETE/MERGE: run in a transaction that is rolled back


@dataclass(slots=True)
class Timing:
    median_ms: float = 0.0
    spread_ms: float = 0.0  # max - min of the timed runs: the noise floor
    top: str = ""  # the plan's top node ("Index Scan", "Seq Scan")
    indexes: list[str] = field(default_factory=list)  # indexes the plan uses
    error: str | None = None


def load_queries(paths: list[str]) -> list[Query]:
    """The statements of the query files, named by a ``-- name: x`` comment above them (else file:line)."""
    queries: list[Query] = []
    for given in paths:
        for path in sorted(Path().glob(given)) if any(c in given for c in "*?[") else [Path(given)]:
            text = path.read_text(encoding="utf-8")
            for stmt in parse(text, SourceText(text)).statements:
                queries.append(Query(_name_above(text, stmt) or f"{path.name}:{stmt.span.line}", stmt.text,
                                     stmt.kind in ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt")))
    return queries


def _name_above(text: str, stmt: Statement) -> str | None:
    lines = text[: stmt.start].rstrip().splitlines()
    for line in reversed(lines[-3:]):
        stripped = line.strip()
        if stripped.startswith("-- name:"):
            return stripped.removeprefix("-- name:").strip() or None
        if stripped and not stripped.startswith("--"):
            return None
    return None


def _plan_facts(plan: dict[str, Any]) -> tuple[str, list[str]]:
    top = str(plan.get("Node Type", ""))
    indexes: list[str] = []
    stack = [plan]
    while stack:
        node = stack.pop()
        if node.get("Index Name") and node["Index Name"] not in indexes:
            indexes.append(str(node["Index Name"]))
        stack.extend(node.get("Plans") or [])
    return top, indexes


class Impact:
    """Before/after measurements around each judged migration file."""

    def __init__(self, conn: Any, queries: list[Query], insert_sql: Callable[[str, int], str | None] | None,
                 finding: Callable[..., Finding | None], slower: float, write_slower: float,
                 rows: Callable[[str], int], progress: Callable[[str], None] | None = None,
                 default_schema: str = "public") -> None:
        self.conn = conn
        self.default_schema = default_schema
        self.queries = queries
        self.insert_sql = insert_sql
        self.finding = finding
        self.slower = slower
        self.write_slower = write_slower
        self.rows = rows
        self.progress = progress
        self.records: dict[str, list[dict[str, Any]]] = {"queries": [], "writes": []}

    # --- measuring -----------------------------------------------------------------------
    def _explain(self, query: Query) -> Timing:
        import psycopg

        timing = Timing()
        samples: list[float] = []
        for number in range(RUNS + 1):
            try:
                self.conn.execute("BEGIN")
                row = self.conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query.sql).fetchone()
                self.conn.execute("ROLLBACK")  # a write measured is never kept
            except psycopg.Error as exc:
                self.conn.execute("ROLLBACK")
                timing.error = (exc.diag.message_primary or str(exc)).strip()
                return timing
            document = row[0][0] if row else {}
            if number == 0:
                timing.top, timing.indexes = _plan_facts(document.get("Plan", {}))
                continue  # the warm-up: caches, plan
            samples.append(float(document.get("Execution Time", 0.0)) + float(document.get("Planning Time", 0.0)))
        timing.median_ms = statistics.median(samples)
        timing.spread_ms = max(samples) - min(samples)
        return timing

    def _insert(self, table: str) -> Timing | None:
        import psycopg

        sql = self.insert_sql(table, WRITE_ROWS) if self.insert_sql is not None else None
        if sql is None:
            return None
        samples: list[float] = []
        for number in range(RUNS + 1):
            try:
                self.conn.execute("BEGIN")
                started = time.perf_counter()
                self.conn.execute(sql)
                elapsed = (time.perf_counter() - started) * 1000
                self.conn.execute("ROLLBACK")
            except psycopg.Error as exc:
                self.conn.execute("ROLLBACK")
                return Timing(error=(exc.diag.message_primary or str(exc)).strip())
            if number:
                samples.append(elapsed)
        return Timing(statistics.median(samples), max(samples) - min(samples))

    # --- around a file -------------------------------------------------------------------
    def before(self, forward: list[Statement], existing: set[str], default_schema: str) -> dict[str, Any]:
        changed = _tables_given_something(forward, existing, default_schema)
        if self.progress is not None and (self.queries or changed):
            self.progress("measuring queries and writes before the migration")
        return {"queries": [self._explain(q) for q in self.queries],
                "writes": {table: self._insert(table) for table in changed},
                "changed": changed}

    def after(self, file: str, forward: list[Statement], before: dict[str, Any],
              new_indexes: list[str]) -> list[Finding]:
        if self.progress is not None and (self.queries or before["changed"]):
            self.progress("measuring queries and writes after the migration")
        out: list[Finding | None] = []
        used: set[str] = set()
        for query, was in zip(self.queries, before["queries"], strict=True):
            now = self._explain(query)
            used.update(now.indexes)
            self._record_query(file, query, was, now)
            out.append(self._slower_query(file, forward, query, was, now))
        for table, (stmt, because) in before["changed"].items():
            inserted_before: Timing | None = before["writes"].get(table)
            inserted_after = self._insert(table)
            if inserted_before is None or inserted_after is None or inserted_before.error or inserted_after.error:
                continue
            self._record_write(file, table, inserted_before, inserted_after, because)
            out.append(self._slower_write(file, table, inserted_before, inserted_after, because, stmt))
        if self.queries:
            for index in new_indexes:
                if index.rsplit(".", 1)[-1] not in used:
                    out.append(self._unused(file, forward, index))
        return [f for f in out if f is not None]

    # --- judging -------------------------------------------------------------------------
    def _slower_query(self, file: str, forward: list[Statement], query: Query, was: Timing,
                      now: Timing) -> Finding | None:
        if was.error is not None:
            return None  # it did not run before (a table this migration creates): nothing to compare
        at = _statement_touching(forward, query, self.default_schema)
        if now.error is not None:
            return self.finding(
                "SL509", file, at, f"Query {query.name} ran before this migration and fails after it: {now.error}",
                "Keep what the application's queries read until no deployed code uses it (expand, migrate the "
                "code, contract in a later release).")
        noise = max(2 * was.spread_ms, MIN_SLOWER_MS)
        if now.median_ms <= was.median_ms * self.slower or now.median_ms - was.median_ms < noise:
            return None
        return self.finding(
            "SL509", file, at,
            f"Query {query.name} is slower after this migration: {was.median_ms:.1f} ms → {now.median_ms:.1f} ms "
            f"(median of {RUNS}, on the synthetic rows); plan {was.top}{_using(was)} → {now.top}{_using(now)}",
            "Look at the plan change: an index the query used may be gone or no longer chosen, or a new trigger, "
            "constraint or column made each row dearer.")

    def _slower_write(self, file: str, table: str, was: Timing, now: Timing, because: list[str],
                      stmt: Statement | None) -> Finding | None:
        noise = max(2 * was.spread_ms, 1.0)
        if now.median_ms <= was.median_ms * self.write_slower or now.median_ms - was.median_ms < noise:
            return None
        growth = (now.median_ms / was.median_ms - 1) * 100 if was.median_ms else 0.0
        return self.finding(
            "SL510", file, stmt,
            f"INSERT {WRITE_ROWS:,} rows into {table}: {was.median_ms:.0f} ms → {now.median_ms:.0f} ms (+{growth:.0f}%, "
            f"with {self.rows(table):,} synthetic rows): {', '.join(because)}",
            "Every write the application makes to the table pays this; keep only the indexes and constraints "
            "queries need, and measure again with production-like rows (--rows-from).")

    def _unused(self, file: str, forward: list[Statement], index: str) -> Finding | None:
        name = index.rsplit(".", 1)[-1]
        stmt = next((s for s in forward if s.kind == "IndexStmt" and s.node.get("idxname") == name), None)
        return self.finding(
            "SL511", file, stmt,
            f"Index {name} is used by none of the {len(self.queries)} listed queries after the migration (on the "
            f"synthetic rows): it costs every write and the disk, for no query here",
            "Add the query it is for to the queries file, or do not create it.")

    def _record_query(self, file: str, query: Query, was: Timing, now: Timing) -> None:
        self.records["queries"].append({
            "file": file, "name": query.name, "sql": query.sql, "before_ms": None if was.error else round(was.median_ms, 2),
            "after_ms": None if now.error else round(now.median_ms, 2), "plan_before": was.top,
            "plan_after": now.top, "index_after": now.indexes, "error_before": was.error, "error_after": now.error})

    def _record_write(self, file: str, table: str, was: Timing, now: Timing, because: list[str]) -> None:
        self.records["writes"].append({"file": file, "table": table, "rows": WRITE_ROWS, "before_ms": round(was.median_ms, 2),
                                       "after_ms": round(now.median_ms, 2), "because": because})


def _using(timing: Timing) -> str:
    return f" using {', '.join(timing.indexes)}" if timing.indexes else ""


def _statement_touching(forward: list[Statement], query: Query, default_schema: str) -> Statement | None:
    """The first statement of the file on a table the query names (else none: the finding is at line 1)."""
    read: set[str] = set()
    for stmt in parse(query.sql, SourceText(query.sql)).statements:
        read |= tables_named(stmt.node, default_schema)
    return next((stmt for stmt in forward if tables_named(stmt.node, default_schema) & read), None)


def _tables_given_something(forward: list[Statement], existing: set[str],
                            default_schema: str) -> dict[str, tuple[Statement, list[str]]]:
    """Existing tables (``schema.table`` as the catalogue names them) this file gives a new index, constraint,
    trigger or foreign key: the first statement that does, and what each is."""
    out: dict[str, tuple[Statement, list[str]]] = {}

    def add(table: Any, stmt: Statement, what: str) -> None:
        schema, name = range_var(table, default_schema)
        key = f"{quote_ident(schema)}.{quote_ident(name)}"  # as the catalogue spells it (format('%I.%I'))
        if key in existing:
            out.setdefault(key, (stmt, []))[1].append(what)

    for stmt in forward:
        node = stmt.node
        if stmt.kind == "IndexStmt":
            add(node.get("relation"), stmt, f"new index {node.get('idxname') or '(unnamed)'}")
        elif stmt.kind == "CreateTrigStmt":
            add(node.get("relation"), stmt, f"new trigger {node.get('trigname')}")
        elif stmt.kind == "AlterTableStmt":
            for item in node.get("cmds") or ():
                cmd = unwrap(item)[1]
                definition = unwrap(cmd.get("def"))[1] if cmd.get("def") else {}
                if cmd.get("subtype") == "AT_AddConstraint":
                    kind = str(definition.get("contype", "")).removeprefix("CONSTR_").replace("FOREIGN", "FOREIGN KEY")
                    add(node.get("relation"), stmt, f"new {kind} {definition.get('conname') or ''}".rstrip())
                elif cmd.get("subtype") == "AT_AddColumn":
                    for con in definition.get("constraints") or ():
                        contype = unwrap(con)[1].get("contype")
                        if contype in ("CONSTR_CHECK", "CONSTR_FOREIGN", "CONSTR_UNIQUE"):
                            kind = contype.removeprefix("CONSTR_").replace("FOREIGN", "FOREIGN KEY")
                            add(node.get("relation"), stmt, f"new {kind} on {definition.get('colname')}")
    return out
