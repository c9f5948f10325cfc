"""Which lock each statement takes, on which relation, and what that lock blocks.

One table for every rule, every message and ``verify``'s expectations. Source: PostgreSQL 15
documentation, "Explicit Locking" (13.3) and the ALTER TABLE / CREATE INDEX reference pages.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from schemalint.sql.names import QName, qualify, range_var, strings
from schemalint.sql.nodes import Node, option_enabled, unwrap
from schemalint.sql.objects import dropped_names, dropped_on_table


class LockMode(enum.IntEnum):
    ACCESS_SHARE = 1
    ROW_SHARE = 2
    ROW_EXCLUSIVE = 3
    SHARE_UPDATE_EXCLUSIVE = 4
    SHARE = 5
    SHARE_ROW_EXCLUSIVE = 6
    EXCLUSIVE = 7
    ACCESS_EXCLUSIVE = 8

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")

    @property
    def blocks(self) -> str:
        return _BLOCKS[self]

    @property
    def article(self) -> str:
        return "an" if self.label[0] in "AEIOU" else "a"



_BLOCKS = {
    LockMode.ACCESS_SHARE: "only ACCESS EXCLUSIVE locks",
    LockMode.ROW_SHARE: "only EXCLUSIVE and ACCESS EXCLUSIVE locks",
    LockMode.ROW_EXCLUSIVE: "SHARE and stronger locks (index builds, most DDL)",
    LockMode.SHARE_UPDATE_EXCLUSIVE: "other schema changes and VACUUM, but not reads or writes",
    LockMode.SHARE: "writes (INSERT, UPDATE, DELETE) but not reads",
    LockMode.SHARE_ROW_EXCLUSIVE: "writes (INSERT, UPDATE, DELETE) but not reads",
    LockMode.EXCLUSIVE: "writes and SELECT … FOR UPDATE, but not plain reads",
    LockMode.ACCESS_EXCLUSIVE: "every read and write",
}

_LOCK_MODE_NAMES = {
    1: LockMode.ACCESS_SHARE, 2: LockMode.ROW_SHARE, 3: LockMode.ROW_EXCLUSIVE,
    4: LockMode.SHARE_UPDATE_EXCLUSIVE, 5: LockMode.SHARE, 6: LockMode.SHARE_ROW_EXCLUSIVE,
    7: LockMode.EXCLUSIVE, 8: LockMode.ACCESS_EXCLUSIVE,
}

# ALTER TABLE subcommands that take less than ACCESS EXCLUSIVE (PG docs, ALTER TABLE, "Notes").
_ALTER_TABLE_LOCKS = {
    "AT_ValidateConstraint": LockMode.SHARE_UPDATE_EXCLUSIVE,
    "AT_SetStatistics": LockMode.SHARE_UPDATE_EXCLUSIVE,
    "AT_ClusterOn": LockMode.SHARE_UPDATE_EXCLUSIVE,
    "AT_DropCluster": LockMode.SHARE_UPDATE_EXCLUSIVE,
    "AT_SetRelOptions": LockMode.SHARE_UPDATE_EXCLUSIVE,
    "AT_ResetRelOptions": LockMode.SHARE_UPDATE_EXCLUSIVE,
    "AT_AttachPartition": LockMode.SHARE_UPDATE_EXCLUSIVE,  # PG12+, on the parent
    "AT_EnableTrig": LockMode.SHARE_ROW_EXCLUSIVE,
    "AT_DisableTrig": LockMode.SHARE_ROW_EXCLUSIVE,
    "AT_EnableTrigAll": LockMode.SHARE_ROW_EXCLUSIVE,
    "AT_DisableTrigAll": LockMode.SHARE_ROW_EXCLUSIVE,
    "AT_EnableTrigUser": LockMode.SHARE_ROW_EXCLUSIVE,
    "AT_DisableTrigUser": LockMode.SHARE_ROW_EXCLUSIVE,
    "AT_EnableAlwaysTrig": LockMode.SHARE_ROW_EXCLUSIVE,
    "AT_EnableReplicaTrig": LockMode.SHARE_ROW_EXCLUSIVE,
}


@dataclass(frozen=True, slots=True)
class LockTaken:
    table: QName  # the table locked; for an index the history does not know, the index itself
    mode: LockMode
    what: str  # the operation, for messages ("CREATE INDEX", "ADD FOREIGN KEY" …)
    index_of_unknown_table: bool = False  # ``table`` is an index whose table the history does not know


class History(Protocol):
    """What the lock table needs from the schema model."""

    def index_table(self, index: QName) -> QName | None: ...

    def foreign_key_target(self, table: QName, constraint: str) -> QName | None: ...

    def default_partition_name(self, parent: QName) -> QName | None: ...

    def tables_using_type(self, type_name: QName) -> list[QName]: ...


def alter_table_lock(cmd: Node) -> tuple[LockMode, str]:
    subtype = cmd.get("subtype", "")
    if subtype == "AT_AddConstraint":
        _, con = unwrap(cmd.get("def"))
        if con.get("contype") == "CONSTR_FOREIGN":
            return LockMode.SHARE_ROW_EXCLUSIVE, "ADD FOREIGN KEY"
        return LockMode.ACCESS_EXCLUSIVE, "ADD CONSTRAINT"
    if subtype == "AT_DetachPartition" and cmd.get("def") and unwrap(cmd["def"])[1].get("concurrent"):
        return LockMode.SHARE_UPDATE_EXCLUSIVE, "DETACH PARTITION CONCURRENTLY"
    mode = _ALTER_TABLE_LOCKS.get(subtype, LockMode.ACCESS_EXCLUSIVE)
    return mode, "ALTER TABLE"


def locks_taken(kind: str, node: Node, default_schema: str, history: History) -> list[LockTaken]:
    """Locks on tables a statement takes. ``history`` finds an index's table (DROP/REINDEX INDEX), the table a
    dropped foreign key references and a parent's default partition."""
    handler = _LOCKS.get(kind)
    return handler(node, _Reading(default_schema, history)) if handler is not None else []


@dataclass(frozen=True, slots=True)
class _Reading:
    default_schema: str
    history: History

    def rv(self, node: object) -> QName:
        return range_var(node, self.default_schema)


def _alter_table(node: Node, r: _Reading) -> list[LockTaken]:
    if node.get("objtype", "OBJECT_TABLE") not in ("OBJECT_TABLE", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE"):
        return []
    table = r.rv(node.get("relation"))
    strongest = LockMode.ACCESS_SHARE
    what = "ALTER TABLE"
    out: list[LockTaken] = []
    for item in node.get("cmds") or ():
        _, cmd = unwrap(item)
        mode, label = alter_table_lock(cmd)
        if mode > strongest:
            strongest, what = mode, label
        out.extend(_partition_locks(cmd, table, r.default_schema, r.history))
        for ref in _fk_targets(cmd, r.default_schema):
            out.append(LockTaken(ref, LockMode.SHARE_ROW_EXCLUSIVE, "FOREIGN KEY (referenced table)"))
        if cmd.get("subtype") == "AT_DropConstraint":
            # dropping a foreign key drops its triggers on the referenced table too: ACCESS EXCLUSIVE on
            # both tables (observed on PG15)
            target = r.history.foreign_key_target(table, str(cmd.get("name", "")))
            if target is not None:
                out.append(LockTaken(target, LockMode.ACCESS_EXCLUSIVE, "DROP FOREIGN KEY (referenced table)"))
    out.insert(0, LockTaken(table, strongest, what))
    return out


def _create_index(node: Node, r: _Reading) -> list[LockTaken]:
    mode = LockMode.SHARE_UPDATE_EXCLUSIVE if node.get("concurrent") else LockMode.SHARE
    return [LockTaken(r.rv(node.get("relation")), mode, "CREATE INDEX")]


_DROPPED_RELATIONS = {"OBJECT_TABLE": "DROP TABLE", "OBJECT_FOREIGN_TABLE": "DROP TABLE", "OBJECT_VIEW": "DROP VIEW",
                      "OBJECT_MATVIEW": "DROP MATERIALIZED VIEW"}


def _drop(node: Node, r: _Reading) -> list[LockTaken]:
    rtype = str(node.get("removeType", ""))
    if rtype in _DROPPED_RELATIONS:
        return [LockTaken(name, LockMode.ACCESS_EXCLUSIVE, _DROPPED_RELATIONS[rtype])
                for name in dropped_names(node, r.default_schema)]
    if rtype == "OBJECT_INDEX":
        mode = LockMode.SHARE_UPDATE_EXCLUSIVE if node.get("concurrent") else LockMode.ACCESS_EXCLUSIVE
        out = []
        for name in dropped_names(node, r.default_schema):
            owner = r.history.index_table(name)
            # an index the history does not know still locks its table
            out.append(LockTaken(owner or name, mode, "DROP INDEX", index_of_unknown_table=owner is None))
        return out
    if rtype in ("OBJECT_TRIGGER", "OBJECT_POLICY", "OBJECT_RULE"):
        return [LockTaken(table, LockMode.ACCESS_EXCLUSIVE, f"DROP {rtype[7:]}")
                for table, _ in dropped_on_table(node, r.default_schema)]
    return []


def _truncate(node: Node, r: _Reading) -> list[LockTaken]:
    return [LockTaken(r.rv(rel), LockMode.ACCESS_EXCLUSIVE, "TRUNCATE") for rel in node.get("relations") or ()]


def _vacuum(node: Node, r: _Reading) -> list[LockTaken]:
    if not node.get("is_vacuumcmd", False):
        return []  # ANALYZE: SHARE UPDATE EXCLUSIVE, harmless to traffic
    full = option_enabled(node.get("options"), "full")
    mode = LockMode.ACCESS_EXCLUSIVE if full else LockMode.SHARE_UPDATE_EXCLUSIVE
    return [LockTaken(r.rv(unwrap(rel)[1].get("relation")), mode, "VACUUM FULL" if full else "VACUUM")
            for rel in node.get("rels") or ()]


def _cluster(node: Node, r: _Reading) -> list[LockTaken]:
    if not node.get("relation"):
        return []
    return [LockTaken(r.rv(node.get("relation")), LockMode.ACCESS_EXCLUSIVE, "CLUSTER")]


def _reindex(node: Node, r: _Reading) -> list[LockTaken]:
    rel = node.get("relation")
    if not rel:
        return []
    name = r.rv(rel)
    if node.get("kind") == "REINDEX_OBJECT_INDEX":
        owner = r.history.index_table(name)
        if owner is None:
            return []
        name = owner
    concurrent = option_enabled(node.get("params"), "concurrently")
    mode = LockMode.SHARE_UPDATE_EXCLUSIVE if concurrent else LockMode.SHARE
    return [LockTaken(name, mode, "REINDEX")]


def _refresh(node: Node, r: _Reading) -> list[LockTaken]:
    mode = LockMode.EXCLUSIVE if node.get("concurrent") else LockMode.ACCESS_EXCLUSIVE
    return [LockTaken(r.rv(node.get("relation")), mode, "REFRESH MATERIALIZED VIEW")]


def _lock_table(node: Node, r: _Reading) -> list[LockTaken]:
    mode = _LOCK_MODE_NAMES.get(int(node.get("mode", 8)), LockMode.ACCESS_EXCLUSIVE)
    return [LockTaken(r.rv(rel), mode, "LOCK TABLE") for rel in node.get("relations") or ()]


def _create_trigger(node: Node, r: _Reading) -> list[LockTaken]:
    return [LockTaken(r.rv(node.get("relation")), LockMode.SHARE_ROW_EXCLUSIVE, "CREATE TRIGGER")]


def _create_table(node: Node, r: _Reading) -> list[LockTaken]:
    out = []
    parents = node.get("inhRelations") or []
    if node.get("partbound") and parents:
        # CREATE TABLE … PARTITION OF: ACCESS EXCLUSIVE on the parent, and on its default partition, which a
        # new bound makes PostgreSQL scan (observed on PG15; ATTACH PARTITION takes less on the parent)
        parent = r.rv(parents[0])
        out.append(LockTaken(parent, LockMode.ACCESS_EXCLUSIVE, "CREATE TABLE … PARTITION OF"))
        default = r.history.default_partition_name(parent)
        if default is not None and not node["partbound"].get("is_default"):
            out.append(LockTaken(default, LockMode.ACCESS_EXCLUSIVE, "CREATE TABLE … PARTITION OF (default partition)"))
    for element in node.get("tableElts") or ():
        kind, fields = unwrap(element)
        cons = [fields] if kind == "Constraint" else [unwrap(c)[1] for c in fields.get("constraints") or ()]
        for con in cons:
            if con.get("contype") == "CONSTR_FOREIGN":
                out.append(LockTaken(r.rv(con.get("pktable")), LockMode.SHARE_ROW_EXCLUSIVE,
                                     "FOREIGN KEY (referenced table)"))
    return out


def _alter_domain(node: Node, r: _Reading) -> list[LockTaken]:
    """ADD CONSTRAINT … CHECK (without NOT VALID) and VALIDATE CONSTRAINT scan every table with a column of the
    domain under a SHARE lock; SET NOT NULL too (observed on PG15). Other subcommands lock no table."""
    subtype = node.get("subtype")
    scans = subtype in ("V", "O") or (subtype == "C" and not unwrap(node.get("def"))[1].get("skip_validation"))
    if not scans:
        return []
    domain = qualify(strings(node.get("typeName")), r.default_schema)
    what = {"V": "ALTER DOMAIN … VALIDATE CONSTRAINT", "O": "ALTER DOMAIN … SET NOT NULL"}.get(
        str(subtype), "ALTER DOMAIN … ADD CONSTRAINT")
    return [LockTaken(table, LockMode.SHARE, what) for table in r.history.tables_using_type(domain)]


def _rename(node: Node, r: _Reading) -> list[LockTaken]:
    if node.get("renameType") in ("OBJECT_TABLE", "OBJECT_COLUMN", "OBJECT_TABCONSTRAINT"):
        return [LockTaken(r.rv(node.get("relation")), LockMode.ACCESS_EXCLUSIVE, "RENAME")]
    return []


def _policy(node: Node, r: _Reading) -> list[LockTaken]:
    return [LockTaken(r.rv(node.get("table")), LockMode.ACCESS_EXCLUSIVE, "CREATE POLICY")]


_LOCKS: dict[str, Callable[[Node, _Reading], list[LockTaken]]] = {
    "AlterTableStmt": _alter_table,
    "IndexStmt": _create_index,
    "DropStmt": _drop,
    "TruncateStmt": _truncate,
    "VacuumStmt": _vacuum,
    "ClusterStmt": _cluster,
    "ReindexStmt": _reindex,
    "RefreshMatViewStmt": _refresh,
    "LockStmt": _lock_table,
    "CreateTrigStmt": _create_trigger,
    "CreateStmt": _create_table,
    "AlterDomainStmt": _alter_domain,
    "RenameStmt": _rename,
    "CreatePolicyStmt": _policy,
    "AlterPolicyStmt": _policy,
}


def _partition_locks(cmd: Node, parent: QName, default_schema: str, history: History) -> list[LockTaken]:
    """ATTACH: ACCESS EXCLUSIVE on the partition and on the parent's default partition (PG12+, the parent
    itself only SHARE UPDATE EXCLUSIVE). DETACH: ACCESS EXCLUSIVE on the partition and the default partition
    too; CONCURRENTLY (PG14+) SHARE UPDATE EXCLUSIVE on the partition. Observed on PG15."""
    subtype = cmd.get("subtype", "")
    if subtype not in ("AT_AttachPartition", "AT_DetachPartition"):
        return []
    _, partition_cmd = unwrap(cmd.get("def"))
    partition = range_var(partition_cmd.get("name"), default_schema)
    label = "ATTACH PARTITION" if subtype == "AT_AttachPartition" else "DETACH PARTITION"
    if partition_cmd.get("concurrent"):
        return [LockTaken(partition, LockMode.SHARE_UPDATE_EXCLUSIVE, f"{label} CONCURRENTLY")]
    out = [LockTaken(partition, LockMode.ACCESS_EXCLUSIVE, label)]
    default = history.default_partition_name(parent)
    if default is not None and default != partition:
        out.append(LockTaken(default, LockMode.ACCESS_EXCLUSIVE, f"{label} (default partition)"))
    return out


def _fk_targets(cmd: Node, default_schema: str) -> list[QName]:
    subtype = cmd.get("subtype", "")
    _, definition = unwrap(cmd.get("def"))
    cons: list[Node] = []
    if subtype == "AT_AddConstraint":
        cons = [definition]
    elif subtype == "AT_AddColumn":
        cons = [unwrap(c)[1] for c in definition.get("constraints") or ()]
    return [range_var(c.get("pktable"), default_schema) for c in cons if c.get("contype") == "CONSTR_FOREIGN"]


def dml_target(kind: str, node: Node, default_schema: str) -> QName | None:
    """The table an INSERT, UPDATE, DELETE or MERGE writes to."""
    if kind in ("UpdateStmt", "DeleteStmt", "InsertStmt", "MergeStmt"):
        return range_var(node.get("relation"), default_schema)
    return None
