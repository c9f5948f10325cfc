"""Reading CREATE TABLE statements: columns, constraints, and which tables a file creates."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from schemalint.model.types import ColumnType, column_type
from schemalint.sql.names import QName
from schemalint.sql.nodes import Node, unwrap
from schemalint.sql.parse import Statement


@dataclass(frozen=True, slots=True)
class ColumnDefinition:
    """A column as a CREATE TABLE or an ALTER TABLE … ADD COLUMN defines it."""

    name: str
    type: ColumnType | None
    definition: Node  # the ColumnDef fields
    constraints: tuple[Node, ...]
    location: int | None
    not_null: bool  # NOT NULL, PRIMARY KEY, identity or serial (or the table's primary key)

    def constraint(self, *contypes: str) -> Node | None:
        for con in self.constraints:
            if con.get("contype") in contypes:
                return con
        return None

    @property
    def default_expr(self) -> Any:
        con = self.constraint("CONSTR_DEFAULT")
        return con.get("raw_expr") if con else None


def column_definition(fields: Node, in_primary_key: bool = False) -> ColumnDefinition:
    constraints = tuple(unwrap(c)[1] for c in fields.get("constraints") or ())
    ctype = column_type(fields.get("typeName"))
    not_null = (
        in_primary_key
        or any(c.get("contype") in ("CONSTR_NOTNULL", "CONSTR_PRIMARY", "CONSTR_IDENTITY") for c in constraints)
        or (ctype is not None and ctype.is_serial)
    )
    return ColumnDefinition(fields.get("colname", ""), ctype, fields, constraints, fields.get("location"), not_null)


def create_columns(stmt: Statement) -> list[ColumnDefinition]:
    memo = stmt.facts()
    cached: list[ColumnDefinition] | None = memo.get("create_columns")
    if cached is None:
        cached = memo["create_columns"] = _create_columns(stmt)
    return cached


def _create_columns(stmt: Statement) -> list[ColumnDefinition]:
    table_pk: set[str] = set()
    for con in table_constraints(stmt):
        if con.get("contype") == "CONSTR_PRIMARY":
            table_pk.update(unwrap(k)[1].get("sval", "") for k in con.get("keys") or ())
    out: list[ColumnDefinition] = []
    for element in stmt.node.get("tableElts") or ():
        kind, fields = unwrap(element)
        if kind == "ColumnDef":
            out.append(column_definition(fields, fields.get("colname", "") in table_pk))
    return out


def table_constraints(stmt: Statement) -> Iterator[Node]:
    for element in stmt.node.get("tableElts") or ():
        kind, fields = unwrap(element)
        if kind == "Constraint":
            yield fields


def has_primary_key(stmt: Statement) -> bool:
    if any(c.get("contype") == "CONSTR_PRIMARY" for c in table_constraints(stmt)):
        return True
    return any(col.constraint("CONSTR_PRIMARY") is not None for col in create_columns(stmt))


def is_temporary(stmt: Statement) -> bool:
    return (stmt.node.get("relation") or {}).get("relpersistence") == "t"


def is_partition(stmt: Statement) -> bool:
    return bool(stmt.node.get("partbound"))


def created_tables(statements: list[Statement], rv: object) -> Iterator[tuple[Statement, QName]]:
    for stmt in statements:
        if stmt.kind == "CreateStmt":
            yield stmt, rv(stmt.node.get("relation"))  # type: ignore[operator]
