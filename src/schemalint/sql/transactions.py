"""Statements and transaction blocks: what PostgreSQL refuses to run inside one, and what Flyway runs outside
one. The one list, used by SL104, the runners' transaction model and ``verify``."""

from __future__ import annotations

from schemalint.sql.nodes import Node, option_enabled, unwrap
from schemalint.sql.parse import Statement
from schemalint.sql.plpgsql import analyse_body, do_block_body


def refused_in_transaction(stmt: Statement, postgres_version: int) -> str | None:
    """What PostgreSQL refuses to run inside a transaction block, named; None when it may."""
    node = stmt.node
    kind = stmt.kind
    if kind == "IndexStmt" and node.get("concurrent"):
        return "CREATE INDEX CONCURRENTLY"
    if kind == "DropStmt" and node.get("concurrent"):
        return "DROP INDEX CONCURRENTLY"
    if kind == "ReindexStmt":
        if option_enabled(node.get("params"), "concurrently"):
            return "REINDEX CONCURRENTLY"
        target = str(node.get("kind", "")).removeprefix("REINDEX_OBJECT_")
        if target in ("SCHEMA", "DATABASE", "SYSTEM"):
            return f"REINDEX {target}"
    if kind == "VacuumStmt" and node.get("is_vacuumcmd"):
        return "VACUUM"
    if kind == "DoStmt" and do_block_ends_transaction(node):
        return "a DO block that runs COMMIT or ROLLBACK"
    simple = _SIMPLE.get(kind)
    if simple is not None:
        return simple
    if kind == "AlterEnumStmt" and node.get("newVal") is not None and postgres_version < 12:
        return f"ALTER TYPE … ADD VALUE (on PostgreSQL {postgres_version}; PG12+ allows it)"
    if kind == "AlterTableStmt":
        for item in node.get("cmds") or ():
            cmd = unwrap(item)[1]
            if cmd.get("subtype") == "AT_DetachPartition" and unwrap(cmd.get("def"))[1].get("concurrent"):
                return "ALTER TABLE … DETACH PARTITION … CONCURRENTLY"
    return None


def do_block_ends_transaction(node: Node) -> bool:
    """A PL/pgSQL DO block whose body runs COMMIT or ROLLBACK: PostgreSQL allows that only when the block is not
    inside a transaction block ("invalid transaction termination" otherwise, PG11+)."""
    body, language = do_block_body(node)
    if body is None or language.lower() != "plpgsql":
        return False
    facts = analyse_body(body)
    return facts is not None and facts.ends_transaction > 0


_SIMPLE = {
    "CreatedbStmt": "CREATE DATABASE", "DropdbStmt": "DROP DATABASE", "AlterSystemStmt": "ALTER SYSTEM",
    "CreateTableSpaceStmt": "CREATE TABLESPACE", "DropTableSpaceStmt": "DROP TABLESPACE",
}


def flyway_runs_outside_transaction(stmt: Statement, postgres_version: int) -> bool:
    """Does Flyway's PostgreSQL parser mark this statement as one that cannot run in a transaction? Then Flyway
    runs the whole script without one. Its list (flyway-database-postgresql, PostgreSQLParser): CREATE/DROP
    [UNIQUE] INDEX CONCURRENTLY, REINDEX SCHEMA/DATABASE/SYSTEM, VACUUM, DISCARD ALL, CREATE/DROP DATABASE,
    TABLESPACE or SUBSCRIPTION, ALTER SYSTEM, and ALTER TYPE … ADD VALUE on servers before 12. Not REINDEX …
    CONCURRENTLY of a table or index, nor DETACH PARTITION … CONCURRENTLY: Flyway runs those in its transaction."""
    node = stmt.node
    kind = stmt.kind
    if kind in ("IndexStmt", "DropStmt"):
        return bool(node.get("concurrent"))
    if kind == "ReindexStmt":
        return str(node.get("kind", "")).removeprefix("REINDEX_OBJECT_") in ("SCHEMA", "DATABASE", "SYSTEM")
    if kind == "VacuumStmt":
        return bool(node.get("is_vacuumcmd"))
    if kind == "DiscardStmt":
        return node.get("target") == "DISCARD_ALL"
    if kind == "AlterEnumStmt":
        return node.get("newVal") is not None and postgres_version < 12
    return kind in _SIMPLE or kind in ("CreateSubscriptionStmt", "DropSubscriptionStmt")
