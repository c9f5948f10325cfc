"""Which lock each statement takes, on which relation, and what that lock blocks.

One table for every rule, every message and ``verify``'s expectations. Source: PostgreSQL 15
documentation, "Explicit Locking" (13.3) and the ALTER TABLE / CREATE INDEX reference pages.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from schemalint.sql.names import QName, qualify, range_var, strings
from schemalint.sql.nodes import Node, option_enabled, unwrap


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
    """Locks on tables a statement takes. ``history`` finds an index's table (DROP/REINDEX INDEX) and the
    table a dropped foreign key references."""
    if kind not in _LOCKING_KINDS:
        return []
    index_table = history.index_table
    def rv(n: object) -> QName:
        return range_var(n, default_schema)

    if kind == "AlterTableStmt":
        if node.get("objtype", "OBJECT_TABLE") not in ("OBJECT_TABLE", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE"):
            return []
        table = rv(node.get("relation"))
        strongest = LockMode.ACCESS_SHARE
        what = "ALTER TABLE"
        out: list[LockTaken] = []
        for item in node.get("cmds") or ():
            _, cmd = unwrap(item)
            mode, label = alter_table_lock(cmd)
            if mode > strongest:
                strongest, what = mode, label
            out.extend(_partition_locks(cmd, table, default_schema, history))
            for ref in _fk_targets(cmd, default_schema):
                out.append(LockTaken(ref, LockMode.SHARE_ROW_EXCLUSIVE, "FOREIGN KEY (referenced table)"))
            if cmd.get("subtype") == "AT_DropConstraint":
                # dropping a foreign key drops its triggers on the referenced table too: ACCESS EXCLUSIVE on
                # both tables (observed on PG15)
                target = history.foreign_key_target(table, str(cmd.get("name", "")))
                if target is not None:
                    out.append(LockTaken(target, LockMode.ACCESS_EXCLUSIVE, "DROP FOREIGN KEY (referenced table)"))
        out.insert(0, LockTaken(table, strongest, what))
        return out
    if kind == "IndexStmt":
        mode = LockMode.SHARE_UPDATE_EXCLUSIVE if node.get("concurrent") else LockMode.SHARE
        return [LockTaken(rv(node.get("relation")), mode, "CREATE INDEX")]
    if kind == "DropStmt":
        rtype = node.get("removeType", "")
        out = []
        for obj in node.get("objects") or ():
            parts = strings(unwrap(obj)[1].get("items")) if "List" in obj else []
            if not parts:
                continue
            name = qualify(parts, default_schema)
            if rtype in ("OBJECT_TABLE", "OBJECT_MATVIEW", "OBJECT_VIEW", "OBJECT_FOREIGN_TABLE"):
                label = {"OBJECT_VIEW": "DROP VIEW", "OBJECT_MATVIEW": "DROP MATERIALIZED VIEW"}.get(rtype, "DROP TABLE")
                out.append(LockTaken(name, LockMode.ACCESS_EXCLUSIVE, label))
            elif rtype == "OBJECT_INDEX":
                owner = index_table(name)
                mode = LockMode.SHARE_UPDATE_EXCLUSIVE if node.get("concurrent") else LockMode.ACCESS_EXCLUSIVE
                # an index the history does not know still locks its table
                out.append(LockTaken(owner or name, mode, "DROP INDEX", index_of_unknown_table=owner is None))
            elif rtype in ("OBJECT_TRIGGER", "OBJECT_POLICY", "OBJECT_RULE") and len(parts) >= 2:
                out.append(LockTaken(qualify(parts[:-1], default_schema), LockMode.ACCESS_EXCLUSIVE, f"DROP {rtype[7:]}"))
        return out
    if kind == "TruncateStmt":
        return [LockTaken(rv(r), LockMode.ACCESS_EXCLUSIVE, "TRUNCATE") for r in node.get("relations") or ()]
    if kind == "VacuumStmt":
        full = option_enabled(node.get("options"), "full")
        if not node.get("is_vacuumcmd", False):
            return []  # ANALYZE: SHARE UPDATE EXCLUSIVE, harmless to traffic
        mode = LockMode.ACCESS_EXCLUSIVE if full else LockMode.SHARE_UPDATE_EXCLUSIVE
        return [
            LockTaken(rv(unwrap(r)[1].get("relation")), mode, "VACUUM FULL" if full else "VACUUM")
            for r in node.get("rels") or ()
        ]
    if kind == "ClusterStmt":
        if node.get("relation"):
            return [LockTaken(rv(node.get("relation")), LockMode.ACCESS_EXCLUSIVE, "CLUSTER")]
        return []
    if kind == "ReindexStmt":
        concurrent = option_enabled(node.get("params"), "concurrently")
        rel = node.get("relation")
        if not rel:
            return []
        name = rv(rel)
        if node.get("kind") == "REINDEX_OBJECT_INDEX":
            owner = index_table(name)
            if owner is None:
                return []
            name = owner
        mode = LockMode.SHARE_UPDATE_EXCLUSIVE if concurrent else LockMode.SHARE
        return [LockTaken(name, mode, "REINDEX")]
    if kind == "RefreshMatViewStmt":
        mode = LockMode.EXCLUSIVE if node.get("concurrent") else LockMode.ACCESS_EXCLUSIVE
        return [LockTaken(rv(node.get("relation")), mode, "REFRESH MATERIALIZED VIEW")]
    if kind == "LockStmt":
        mode = _LOCK_MODE_NAMES.get(int(node.get("mode", 8)), LockMode.ACCESS_EXCLUSIVE)
        return [LockTaken(rv(r), mode, "LOCK TABLE") for r in node.get("relations") or ()]
    if kind == "CreateTrigStmt":
        return [LockTaken(rv(node.get("relation")), LockMode.SHARE_ROW_EXCLUSIVE, "CREATE TRIGGER")]
    if kind == "CreateStmt":
        out = []
        for element in node.get("tableElts") or ():
            ekind, fields = unwrap(element)
            cons = [fields] if ekind == "Constraint" else [unwrap(c)[1] for c in fields.get("constraints") or ()]
            for con in cons:
                if con.get("contype") == "CONSTR_FOREIGN":
                    out.append(LockTaken(rv(con.get("pktable")), LockMode.SHARE_ROW_EXCLUSIVE, "FOREIGN KEY (referenced table)"))
        return out
    if kind == "RenameStmt":
        if node.get("renameType") in ("OBJECT_TABLE", "OBJECT_COLUMN", "OBJECT_TABCONSTRAINT"):
            return [LockTaken(rv(node.get("relation")), LockMode.ACCESS_EXCLUSIVE, "RENAME")]
        return []
    if kind == "CreatePolicyStmt" or kind == "AlterPolicyStmt":
        return [LockTaken(rv(node.get("table")), LockMode.ACCESS_EXCLUSIVE, "CREATE POLICY")]
    return []


_LOCKING_KINDS = frozenset((
    "AlterTableStmt", "IndexStmt", "DropStmt", "TruncateStmt", "VacuumStmt", "ClusterStmt", "ReindexStmt",
    "RefreshMatViewStmt", "LockStmt", "CreateTrigStmt", "CreateStmt", "RenameStmt", "CreatePolicyStmt",
    "AlterPolicyStmt",
))


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
