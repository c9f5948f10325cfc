"""SL117 blocking-maintenance: VACUUM FULL, CLUSTER, REINDEX, REFRESH MATERIALIZED VIEW, SET
TABLESPACE, SET LOGGED/UNLOGGED and LOCK … ACCESS EXCLUSIVE on existing objects."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.context import Context
from schemalint.findings import Hit, Severity
from schemalint.model.locks import LockMode
from schemalint.rules.alter import alter_commands
from schemalint.rules.base import rule
from schemalint.rules.wording import lock_phrase
from schemalint.sql.names import QName
from schemalint.sql.nodes import option_enabled, unwrap
from schemalint.sql.parse import Statement
from schemalint.sql.scan import add_keyword_after


def _hit(ctx: Context, table: QName | None, what: str, mode: LockMode, help_text: str) -> Hit:
    if table is not None:
        mode = ctx.lock_of(ctx.statement, table, mode)  # the one statement → lock table, where it knows
    target = ctx.name(table) if table else "every table it touches"
    return Hit(f"{what} {lock_phrase(mode, target, 'for its whole duration')}", help_text,
               subject=ctx.name(table) if table else None)


@rule("SL117", "blocking-maintenance", Severity.ERROR,
      "VACUUM FULL, CLUSTER, REINDEX, REFRESH MATERIALIZED VIEW and similar rewrites block the table.",
      kinds=["VacuumStmt", "ClusterStmt", "ReindexStmt", "RefreshMatViewStmt", "AlterTableStmt", "LockStmt"])
def blocking_maintenance(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    node = stmt.node
    kind = stmt.kind
    if kind == "VacuumStmt":
        if not node.get("is_vacuumcmd") or not option_enabled(node.get("options"), "full"):
            return
        rels = [ctx.rv(unwrap(r)[1].get("relation")) for r in node.get("rels") or ()]
        help_text = ("Use pg_repack or pg_squeeze to reclaim space online, or run VACUUM FULL in a maintenance "
                     "window; plain VACUUM does not block reads or writes.")
        if not rels:
            yield _hit(ctx, None, "VACUUM FULL of the whole database", LockMode.ACCESS_EXCLUSIVE, help_text)
        for table in rels:
            if ctx.is_existing(table):
                yield _hit(ctx, table, f"VACUUM FULL {ctx.name(table)} rewrites the table and",
                           LockMode.ACCESS_EXCLUSIVE,
                           f"Reclaim the space online, outside the migration: pg_repack --table={table[0]}.{table[1]} "
                           f"(or pg_squeeze); or plain VACUUM {ctx.name(table)}; which blocks neither reads nor "
                           f"writes; or VACUUM FULL in a maintenance window.")
    elif kind == "ClusterStmt":
        rel = node.get("relation")
        clustered: QName | None = ctx.rv(rel) if rel else None
        if clustered is not None and ctx.is_new(clustered):
            return
        yield _hit(ctx, clustered, "CLUSTER rewrites the table in index order and", LockMode.ACCESS_EXCLUSIVE,
                   "Use pg_repack (which can also order by an index) online, or run CLUSTER in a maintenance window.")
    elif kind == "ReindexStmt":
        if option_enabled(node.get("params"), "concurrently"):
            return
        target = str(node.get("kind", "")).removeprefix("REINDEX_OBJECT_")
        rel = node.get("relation")
        if target == "SYSTEM":
            yield Hit("REINDEX SYSTEM rebuilds every system catalog index, locking catalogs that every query needs; "
                      "it has no CONCURRENTLY form",
                      "Run it in a maintenance window, outside migrations.")
            return
        reindexed: QName | None = ctx.rv(rel) if rel else None
        if reindexed is not None and target == "INDEX":
            owner = ctx.model.index_table(reindexed)
            if owner is not None and ctx.is_new(owner):
                return
        elif reindexed is not None and ctx.is_new(reindexed):
            return
        fixed = add_keyword_after(stmt.text, r"\bREINDEX\s+(?:\([^)]*\)\s*)?(?:INDEX|TABLE|SCHEMA|DATABASE)\b", "CONCURRENTLY")
        what = f"REINDEX {target} without CONCURRENTLY"
        yield Hit(f"{what} takes an ACCESS EXCLUSIVE lock on each index it rebuilds (blocking reads that use it) and "
                  f"a SHARE lock on the table, blocking writes, for its whole duration",
                  f"PG12+: rebuild without blocking, {ctx.outside_transaction_phrase()}:\n{fixed};")
    elif kind == "RefreshMatViewStmt":
        if node.get("concurrent"):
            return
        view = ctx.rv(node.get("relation"))
        if ctx.is_new(view):
            return
        yield _hit(ctx, view, f"REFRESH MATERIALIZED VIEW {ctx.name(view)} without CONCURRENTLY",
                   LockMode.ACCESS_EXCLUSIVE,
                   f"REFRESH MATERIALIZED VIEW CONCURRENTLY {ctx.name(view)};  -- needs a unique index on the view; "
                   f"reads continue during the refresh")
    elif kind == "LockStmt":
        if int(node.get("mode", 8)) != 8:
            return
        for r in node.get("relations") or ():
            table = ctx.rv(r)
            if ctx.is_existing(table):
                yield _hit(ctx, table, f"LOCK TABLE {ctx.name(table)} IN ACCESS EXCLUSIVE MODE",
                           LockMode.ACCESS_EXCLUSIVE,
                           "Take the weakest lock that protects what you do (SHARE blocks only writes), keep the "
                           "transaction short, and set a lock_timeout.")
    elif kind == "AlterTableStmt":
        table = ctx.rv(node.get("relation"))
        if ctx.is_new(table):
            return
        name = ctx.name(table)
        for cmd in alter_commands(stmt, "AT_SetTableSpace", "AT_SetLogged", "AT_SetUnLogged"):
            sub = cmd.get("subtype")
            what = {"AT_SetTableSpace": "SET TABLESPACE copies the whole table and",
                    "AT_SetLogged": "SET LOGGED rewrites the whole table into the WAL and",
                    "AT_SetUnLogged": "SET UNLOGGED rewrites the whole table and"}[str(sub)]
            yield _hit(ctx, table, f"ALTER TABLE {name} {what}", LockMode.ACCESS_EXCLUSIVE,
                       "Run it in a maintenance window, or move the data with a new table and a batched copy "
                       "(or pg_repack --tablespace) while the application keeps running.")
