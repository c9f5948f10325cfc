"""SL126 separate-alter-table-statements: ALTER TABLE statements on one table that could be one statement."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.context import Context
from schemalint.findings import Hit, Severity
from schemalint.model.locks import LockMode
from schemalint.rules.alter import alter_commands
from schemalint.rules.base import rule
from schemalint.rules.edits import text_after_relation
from schemalint.sql.names import QName
from schemalint.sql.parse import Statement

# Subcommands that must stay apart: a VALIDATE is a later step on purpose (it should not run under the
# ACCESS EXCLUSIVE lock of the others), ATTACH/DETACH PARTITION cannot share a statement with anything, and a
# SET NOT NULL proven by a CHECK must not share one with that CHECK's DROP (PostgreSQL runs the drops of one
# ALTER TABLE first, and would then scan the table).
_APART = frozenset(("AT_ValidateConstraint", "AT_AttachPartition", "AT_DetachPartition",
                    "AT_DetachPartitionFinalize", "AT_SetNotNull"))


@rule("SL126", "separate-alter-table-statements", Severity.WARNING,
      "Consecutive ALTER TABLE statements on one existing table outside a transaction: each queues for ACCESS "
      "EXCLUSIVE on its own.", kinds=["AlterTableStmt"])
def separate_alter_table_statements(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    if ctx.in_transaction or ctx.current is not None:
        return
    table = _combinable(stmt, ctx)
    if table is None:
        return
    before = _neighbour(ctx.statements[: ctx.index][::-1])
    if before is not None and _combinable(before, ctx) == table:
        return  # reported at the first statement of the run
    group = [stmt]
    for later in _run_after(ctx):
        if _combinable(later, ctx) != table:
            break
        group.append(later)
    if len(group) < 2:
        return
    name = ctx.name(table)
    lines = [s.span.line for s in group]
    combined = ",\n    ".join(text_after_relation(s) for s in group)
    yield Hit(
        f"{len(group)} separate ALTER TABLE statements on {name} (lines {', '.join(map(str, lines))}) each take an "
        f"ACCESS EXCLUSIVE lock on {name} on their own: outside a transaction each one queues behind running "
        f"queries, and every query on {name} queues behind it, {len(group)} times over",
        f"Make them one statement, which takes the lock once:\nALTER TABLE {name}\n    {combined};",
        subject=name,
    )


def _combinable(stmt: Statement, ctx: Context) -> QName | None:
    """The existing table an ALTER TABLE works on, when it could be merged into a neighbour: ACCESS EXCLUSIVE
    as a whole and no subcommand that must stay apart."""
    if stmt.kind != "AlterTableStmt" or stmt.node.get("objtype", "OBJECT_TABLE") != "OBJECT_TABLE":
        return None
    table = ctx.rv(stmt.node.get("relation"))
    if ctx.is_new(table):
        return None
    commands = list(alter_commands(stmt))
    if not commands or any(c.get("subtype") in _APART for c in commands):
        return None
    if ctx.lock_of(stmt, table) < LockMode.ACCESS_EXCLUSIVE:
        return None
    return table


def _neighbour(statements: list[Statement]) -> Statement | None:
    """The nearest statement that is not a session setting (SET lock_timeout between them changes nothing)."""
    return next((s for s in statements if s.kind not in ("VariableSetStmt",)), None)


def _run_after(ctx: Context) -> Iterator[Statement]:
    for later in ctx.later_statements():
        if later.kind == "VariableSetStmt":
            continue
        yield later


