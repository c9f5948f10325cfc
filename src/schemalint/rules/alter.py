"""Reading ALTER TABLE statements: their subcommands, added columns and constraints."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.rules.tables import ColumnDefinition, column_definition
from schemalint.sql.nodes import Node, unwrap
from schemalint.sql.parse import Statement

TABLE_OBJECTS = ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE")


def _commands(stmt: Statement) -> list[Node]:
    memo = stmt.facts()
    cached: list[Node] | None = memo.get("alter_commands")
    if cached is None:
        cached = []
        if stmt.node.get("objtype", "OBJECT_TABLE") in TABLE_OBJECTS:
            cached = [unwrap(item)[1] for item in stmt.node.get("cmds") or ()]
        memo["alter_commands"] = cached
    return cached


def alter_commands(stmt: Statement, *subtypes: str) -> Iterator[Node]:
    """The subcommands of an ALTER TABLE (on a table, not an index or view) of the given subtypes."""
    if stmt.kind != "AlterTableStmt":
        return
    for cmd in _commands(stmt):
        if not subtypes or cmd.get("subtype") in subtypes:
            yield cmd


def added_columns(stmt: Statement) -> list[ColumnDefinition]:
    if stmt.kind != "AlterTableStmt":
        return []
    memo = stmt.facts()
    cached: list[ColumnDefinition] | None = memo.get("added_columns")
    if cached is None:
        cached = [column_definition(unwrap(cmd.get("def"))[1]) for cmd in alter_commands(stmt, "AT_AddColumn")]
        memo["added_columns"] = cached
    return cached


def added_constraints(stmt: Statement, *contypes: str) -> Iterator[Node]:
    for cmd in alter_commands(stmt, "AT_AddConstraint"):
        _, con = unwrap(cmd.get("def"))
        if not contypes or con.get("contype") in contypes:
            yield con


_TYPE_CONTINUES = ("varying", "precision", "with time zone", "without time zone", "[", "(")


def type_sql(col: ColumnDefinition, stmt: Statement) -> str:
    """The column's type as the user wrote it (falls back to the normalised type)."""
    from schemalint.rules.recipes import scan_sql

    type_name = col.definition.get("typeName") or {}
    start = type_name.get("location")
    if isinstance(start, int) and start >= 0:
        text = stmt.source.text
        begin = stmt.offset_of(start)

        def stop(i: int) -> bool:
            if not (text[i].isspace() or text[i] == ","):
                return False
            return not text[i:stmt.end].lstrip().lower().startswith(_TYPE_CONTINUES)

        written = text[begin : scan_sql(text, begin, stmt.end, stop)].strip()
        if written:
            return written
    return str(col.type) if col.type else "…"
