"""SL2xx: changes that break the application that is running right now."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.context import Context
from schemalint.findings import Hit, Severity
from schemalint.rules.base import rule
from schemalint.sql.names import quote_ident
from schemalint.sql.nodes import unwrap
from schemalint.sql.parse import Statement


def _alter_commands(stmt: Statement, subtype: str) -> Iterator[dict[str, object]]:
    if stmt.node.get("objtype", "OBJECT_TABLE") not in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
        return
    for item in stmt.node.get("cmds") or ():
        _, cmd = unwrap(item)
        if cmd.get("subtype") == subtype:
            yield cmd


@rule("SL201", "drop-column", Severity.ERROR,
      "DROP COLUMN on an existing table breaks the code that still reads or writes it.",
      kinds=["AlterTableStmt"])
def drop_column(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    table = ctx.rv(stmt.node.get("relation"))
    if ctx.is_new(table):
        return
    name = ctx.name(table)
    for cmd in _alter_commands(stmt, "AT_DropColumn"):
        column = quote_ident(str(cmd.get("name", "")))
        cascade = " CASCADE also drops every view, index and constraint that uses it;" if cmd.get("behavior") == "DROP_CASCADE" else ""
        yield Hit(
            f"DROP COLUMN {name}.{column} breaks every query and every deployed version of the application "
            f"that still reads or writes it;{cascade} the data is gone and a rollback cannot bring it back",
            "Contract in steps instead of in one release:\n"
            f"1. Stop reading and writing {column} in the application, and deploy that.\n"
            f"2. In a later migration, once no deployed code uses it:\n"
            f"   SET lock_timeout = '5s';\n"
            f"   ALTER TABLE {name} DROP COLUMN {column};  -- schemalint: ignore drop-column\n"
            "   (a brief ACCESS EXCLUSIVE lock; no rewrite, the space is reclaimed by later updates)",
        )
