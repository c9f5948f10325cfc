"""SL116 unbatched-backfill: UPDATE/DELETE that hold row locks on a whole existing table, backfills in
the same transaction as DDL, and "batching" loops that still run as one transaction."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.context import Context
from schemalint.findings import Hit, Severity
from schemalint.rules.base import rule
from schemalint.sql.nodes import Node
from schemalint.sql.objects import data_writes
from schemalint.sql.parse import Statement
from schemalint.sql.plpgsql import BodyFacts, analyse_body, do_block_body
from schemalint.sql.scan import one_line

_PROCEDURE_RECIPE = (
    "Commit each batch: a procedure may COMMIT between batches when it is CALLed outside a transaction block "
    "(PG11+):\n"
    "CREATE PROCEDURE backfill_in_batches() LANGUAGE plpgsql AS $$\n"
    "DECLARE n integer;\n"
    "BEGIN\n"
    "  LOOP\n"
    "    UPDATE … WHERE <key> IN (SELECT <key> FROM … WHERE <not yet done> LIMIT 5000);\n"
    "    GET DIAGNOSTICS n = ROW_COUNT;\n"
    "    EXIT WHEN n = 0;\n"
    "    COMMIT;  -- releases the row locks of this batch\n"
    "  END LOOP;\n"
    "END $$;\n"
    "CALL backfill_in_batches();  -- not inside BEGIN … COMMIT\n"
    "Or drive the batches from a script, one transaction per batch."
)


def _loop_hits(facts: BodyFacts, what: str, ctx: Context, can_commit: bool) -> Iterator[Hit]:
    for loop in facts.loops:
        if not loop.writes:
            continue
        if loop.commits:
            continue  # each batch commits; in a transaction block the COMMIT itself fails, which is SL104's
        first = one_line(loop.writes[0], 80)
        sleep = " and pg_sleep between batches releases no lock" if loop.sleeps else ""
        yield Hit(f"{what} runs a batching loop ({first}) as one single transaction: every batch's row locks "
                  f"are held until the whole loop ends{sleep}", _PROCEDURE_RECIPE)
        return


def _write_hits(kind: str, node: Node, location: int | None, ctx: Context) -> Iterator[Hit]:
    """An UPDATE or DELETE (at top level, or in a WITH clause at ``location``) of a whole existing table, or of a
    table in the same transaction as DDL on it."""
    if node.get("whereClause") is not None and not (ctx.in_transaction and ctx.transaction.ddl_tables):
        return  # a batched write outside a DDL transaction: nothing to say (the common case, kept cheap)
    table = ctx.rv(node.get("relation"))
    if ctx.is_new(table):
        return
    verb = "UPDATE" if kind == "UpdateStmt" else "DELETE"
    whole_table = node.get("whereClause") is None and not node.get("whereCurrentOf")
    if whole_table and verb == "DELETE":
        return  # one finding per statement: a DELETE of every row is SL208's (truncate-or-delete-all)
    if not whole_table and not (ctx.in_transaction and table in ctx.transaction.ddl_tables):
        return
    name = ctx.name(table)
    key = ctx.batch_key(table)
    at = ctx.statement.offset_of(location) if location is not None else None
    inside = " (in a WITH clause)" if location is not None else ""
    batch = (f"{verb} {'' if verb == 'UPDATE' else 'FROM '}{name} {'SET … ' if verb == 'UPDATE' else ''}"
             f"WHERE {key} IN (SELECT {key} FROM {name} WHERE <not yet done> LIMIT 5000);  "
             f"-- repeat, one transaction per batch")
    if whole_table:
        yield Hit(f"{verb} of every row of {name}{inside} in one statement takes a ROW EXCLUSIVE lock on {name} "
                  f"(blocking index builds and most DDL) and a row lock on every row it touches, blocking "
                  f"concurrent writers of those rows until the transaction ends; it also bloats the table and "
                  f"its indexes, and can run for a long time",
                  f"Work in batches, each in its own transaction:\n{batch}", at, subject=name)
    else:
        yield Hit(f"{verb} on {name}{inside} in the same transaction as DDL on it: the DDL's lock on {name} is "
                  f"held until this backfill finishes, blocking every query on the table",
                  f"Commit the schema change first, then backfill in batches:\nCOMMIT;\n{batch}", at, subject=name)


@rule("SL116", "unbatched-backfill", Severity.ERROR,
      "UPDATE/DELETE of a whole existing table, in a transaction with DDL, or in a loop that is one transaction.",
      kinds=["UpdateStmt", "DeleteStmt", "InsertStmt", "MergeStmt", "DoStmt", "SelectStmt", "CallStmt"])
def unbatched_backfill(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    for kind, write, location in data_writes(stmt.kind, stmt.node):  # the statement and the DML in its WITH
        if kind in ("UpdateStmt", "DeleteStmt"):
            yield from _write_hits(kind, write, location, ctx)
    if stmt.kind in ("UpdateStmt", "DeleteStmt", "InsertStmt", "MergeStmt"):
        return
    if stmt.kind == "DoStmt":
        body, language = do_block_body(stmt.node)
        if body is None or language.lower() != "plpgsql":
            return
        facts = analyse_body(body)
        if facts is not None:
            yield from _loop_hits(facts, "This DO block", ctx, can_commit=not ctx.in_transaction)
        return
    for parts, routine in ctx.model.routines_called(stmt.kind, stmt.node, ctx.file):
        if routine.language.lower() != "plpgsql":
            continue
        facts = analyse_body(routine.body or "")
        if facts is None:
            continue
        can_commit = stmt.kind == "CallStmt" and routine.kind == "procedure" and not ctx.in_transaction
        label = f"{'Procedure' if routine.kind == 'procedure' else 'Function'} {'.'.join(parts)}(), run here,"
        yield from _loop_hits(facts, label, ctx, can_commit)
