"""What one statement did on the server: locks on pre-existing relations, rewrites, full scans, time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemalint.model.locks import LockMode
from schemalint.verify.catalog import USER_SCHEMAS

_MODES = {
    "AccessShareLock": LockMode.ACCESS_SHARE,
    "RowShareLock": LockMode.ROW_SHARE,
    "RowExclusiveLock": LockMode.ROW_EXCLUSIVE,
    "ShareUpdateExclusiveLock": LockMode.SHARE_UPDATE_EXCLUSIVE,
    "ShareLock": LockMode.SHARE,
    "ShareRowExclusiveLock": LockMode.SHARE_ROW_EXCLUSIVE,
    "ExclusiveLock": LockMode.EXCLUSIVE,
    "AccessExclusiveLock": LockMode.ACCESS_EXCLUSIVE,
}

RELATIONS = f"""
    SELECT c.oid, format('%I.%I', n.nspname, c.relname), c.relkind::text, c.relfilenode
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'i', 'I', 'm', 't') AND {USER_SCHEMAS}"""

# Read over the monitoring connection, about the migrator's backend.
LOCKS = """
    SELECT l.relation, l.mode FROM pg_locks l
    WHERE l.pid = %s AND l.granted AND l.locktype = 'relation' AND l.relation IS NOT NULL
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"""

# Read on the migrator's own connection (only it sees its open transaction): every name qualified, so
# nothing the migration created or any search_path it set changes what these queries run.
SCANS = """
    SELECT o, pg_catalog.pg_stat_get_xact_numscans(o) FROM pg_catalog.unnest(%s::pg_catalog.oid[]) AS u(o)"""
FILENODES = """
    SELECT c.oid, c.relfilenode FROM pg_catalog.pg_class c
    WHERE c.oid OPERATOR(pg_catalog.=) ANY (%s::pg_catalog.oid[])"""

# An index that ALTER COLUMN … TYPE rebuilds is dropped and created again under its name with a new oid (PostgreSQL
# 15, ATPostAlterTypeCleanup); one it can keep gets the new oid but keeps its relfilenode. So a watched relation
# whose oid is gone is looked up by name.
FILENODES_BY_NAME = """
    SELECT pg_catalog.format('%%I.%%I', n.nspname, c.relname), c.relfilenode
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
    WHERE pg_catalog.format('%%I.%%I', n.nspname, c.relname) OPERATOR(pg_catalog.=) ANY (%s::pg_catalog.text[])"""


@dataclass(frozen=True, slots=True)
class Relation:
    oid: int
    name: str
    kind: str  # pg_class.relkind
    relfilenode: int

    @property
    def is_index(self) -> bool:
        return self.kind in ("i", "I")


@dataclass(slots=True)
class Observation:
    """One statement's effect on relations that existed before the migration."""

    locks: dict[str, LockMode] = field(default_factory=dict)  # relation → strongest new lock
    rewritten: list[str] = field(default_factory=list)
    rebuilt_indexes_only: bool = False  # every relation in rewritten is an index (the table itself was kept)
    scanned: list[str] = field(default_factory=list)
    lock_timeout: str = "0"
    milliseconds: float = 0.0
    observed: bool = True  # False for statements that cannot run inside our observing transaction
    rows_before: dict[str, int] = field(default_factory=dict)  # rows of the relations it locked (reltuples)
    blocked: dict[str, tuple[float, float]] = field(default_factory=dict)  # --probe: table → (read ms, write ms)

    @property
    def strongest(self) -> tuple[str, LockMode] | None:
        if not self.locks:
            return None
        name = max(self.locks, key=lambda n: self.locks[n])
        return name, self.locks[name]


ROW_ESTIMATES = """
    SELECT pg_catalog.format('%%I.%%I', n.nspname, c.relname), GREATEST(c.reltuples, 0)::bigint
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid OPERATOR(pg_catalog.=) ANY (%s::pg_catalog.oid[])"""


def row_estimates(conn: Any, oids: list[int]) -> dict[str, int]:
    """Rows per relation as the planner knows them (verify ANALYZEs what it fills)."""
    if not oids:
        return {}
    return {str(name): int(rows) for name, rows in conn.execute(ROW_ESTIMATES, (oids,))}


def relations(conn: Any) -> dict[int, Relation]:
    return {int(oid): Relation(int(oid), str(name), str(kind), int(node)) for oid, name, kind, node in conn.execute(RELATIONS)}


def held_locks(monitor: Any, pid: int, watched: dict[int, Relation]) -> dict[int, LockMode]:
    """The relation locks backend ``pid`` holds, strongest per watched relation (read by the monitor)."""
    held: dict[int, LockMode] = {}
    for oid, mode in monitor.execute(LOCKS, (pid,)):
        if int(oid) in watched and mode in _MODES:
            held[int(oid)] = max(held.get(int(oid), LockMode.ACCESS_SHARE), _MODES[mode])
    return held


def scan_counts(conn: Any, watched: dict[int, Relation]) -> dict[int, int]:
    """Sequential scans of each watched table in this transaction (pg_stat_get_xact_numscans reads the
    backend's own pending counters, so it is exact inside the transaction)."""
    tables = [oid for oid, rel in watched.items() if not rel.is_index]
    if not tables:
        return {}
    rows = conn.execute(SCANS, (tables,))
    return {int(oid): int(n) for oid, n in rows}


def relfilenodes(conn: Any, watched: dict[int, Relation]) -> dict[int, int]:
    if not watched:
        return {}
    rows = conn.execute(FILENODES, (list(watched),))
    return {int(oid): int(node) for oid, node in rows}


def rewritten(conn: Any, watched: dict[int, Relation], before: dict[int, int], after: dict[int, int]) -> list[str]:
    """The watched relations whose storage the statement replaced: a new relfilenode under the same oid, or (for
    an index rebuilt by ALTER COLUMN … TYPE) under the same name with a new oid."""
    names = [watched[oid].name for oid, node in after.items() if before.get(oid) != node]
    gone = {watched[oid].name: before[oid] for oid in before if oid not in after}
    if gone:
        for name, node in conn.execute(FILENODES_BY_NAME, (list(gone),)):
            if int(node) != gone[str(name)]:
                names.append(str(name))
    return names
