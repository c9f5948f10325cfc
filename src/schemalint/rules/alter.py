"""Reading ALTER TABLE statements (subcommands, added columns and constraints), and the constraints a
CREATE TABLE or ALTER TABLE declares."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.rules.tables import (
    ColumnDefinition,
    column_definition,
    create_columns,
    table_constraints,
)
from schemalint.sql.names import strings
from schemalint.sql.nodes import Node, unwrap
from schemalint.sql.parse import Statement
from schemalint.sql.scan import scan_sql

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


def declared_constraints(stmt: Statement, *contypes: str) -> list[tuple[tuple[str, ...], Node]]:
    """(columns, constraint) of the constraints a CREATE TABLE or ALTER TABLE declares (of ``contypes``):
    table-level ones first, then those written on a column (whose columns are that column)."""
    if stmt.kind not in ("CreateStmt", "AlterTableStmt"):
        return []
    memo = stmt.facts()
    declared: list[tuple[tuple[str, ...], Node]] | None = memo.get("declared_constraints")
    if declared is None:
        if stmt.kind == "CreateStmt":
            table_level, columns = list(table_constraints(stmt)), create_columns(stmt)
        else:
            table_level, columns = list(added_constraints(stmt)), added_columns(stmt)
        declared = [
            (tuple(strings(c.get("fk_attrs" if c.get("contype") == "CONSTR_FOREIGN" else "keys"))), c)
            for c in table_level
        ]
        declared += [((col.name,), con) for col in columns for con in col.constraints]
        memo["declared_constraints"] = declared
    return [(cols, con) for cols, con in declared if not contypes or con.get("contype") in contypes]
