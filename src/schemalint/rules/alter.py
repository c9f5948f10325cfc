"""Reading ALTER TABLE statements: their subcommands, added columns and constraints."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from schemalint.sql.nodes import Node, unwrap
from schemalint.sql.parse import Statement
from schemalint.types import ColumnType, column_type

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


@dataclass(frozen=True, slots=True)
class AddedColumn:
    name: str
    type: ColumnType | None
    definition: Node
    constraints: tuple[Node, ...]
    location: int | None

    def constraint(self, *contypes: str) -> Node | None:
        for con in self.constraints:
            if con.get("contype") in contypes:
                return con
        return None

    @property
    def default_expr(self) -> Any:
        con = self.constraint("CONSTR_DEFAULT")
        return con.get("raw_expr") if con else None


def added_columns(stmt: Statement) -> list[AddedColumn]:
    if stmt.kind != "AlterTableStmt":
        return []
    memo = stmt.facts()
    cached: list[AddedColumn] | None = memo.get("added_columns")
    if cached is None:
        cached = []
        for cmd in alter_commands(stmt, "AT_AddColumn"):
            _, col = unwrap(cmd.get("def"))
            constraints = tuple(unwrap(c)[1] for c in col.get("constraints") or ())
            cached.append(AddedColumn(col.get("colname", ""), column_type(col.get("typeName")), col, constraints,
                                      col.get("location")))
        memo["added_columns"] = cached
    return cached


def added_constraints(stmt: Statement, *contypes: str) -> Iterator[Node]:
    for cmd in alter_commands(stmt, "AT_AddConstraint"):
        _, con = unwrap(cmd.get("def"))
        if not contypes or con.get("contype") in contypes:
            yield con


_TYPE_CONTINUES = ("varying", "precision", "with time zone", "without time zone", "[", "(")


def type_sql(col: AddedColumn, stmt: Statement) -> str:
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
