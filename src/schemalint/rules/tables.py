"""Reading CREATE TABLE statements: columns, constraints, and which tables a file creates."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from schemalint.sql.names import QName
from schemalint.sql.nodes import Node, unwrap
from schemalint.sql.parse import Statement
from schemalint.types import ColumnType, column_type


@dataclass(frozen=True, slots=True)
class NewColumn:
    name: str
    type: ColumnType | None
    not_null: bool
    constraints: tuple[Node, ...]
    location: int | None


def create_columns(stmt: Statement) -> list[NewColumn]:
    memo = stmt.facts()
    cached: list[NewColumn] | None = memo.get("create_columns")
    if cached is None:
        cached = memo["create_columns"] = _create_columns(stmt)
    return cached


def _create_columns(stmt: Statement) -> list[NewColumn]:
    out: list[NewColumn] = []
    table_pk: set[str] = set()
    for element in stmt.node.get("tableElts") or ():
        kind, fields = unwrap(element)
        if kind == "Constraint" and fields.get("contype") == "CONSTR_PRIMARY":
            table_pk.update(unwrap(k)[1].get("sval", "") for k in fields.get("keys") or ())
    for element in stmt.node.get("tableElts") or ():
        kind, fields = unwrap(element)
        if kind != "ColumnDef":
            continue
        constraints = tuple(unwrap(c)[1] for c in fields.get("constraints") or ())
        ctype = column_type(fields.get("typeName"))
        name = fields.get("colname", "")
        not_null = (
            any(c.get("contype") in ("CONSTR_NOTNULL", "CONSTR_PRIMARY", "CONSTR_IDENTITY") for c in constraints)
            or name in table_pk or (ctype is not None and ctype.is_serial)
        )
        out.append(NewColumn(name, ctype, not_null, constraints, fields.get("location")))
    return out


def table_constraints(stmt: Statement) -> Iterator[Node]:
    for element in stmt.node.get("tableElts") or ():
        kind, fields = unwrap(element)
        if kind == "Constraint":
            yield fields


def has_primary_key(stmt: Statement) -> bool:
    if any(c.get("contype") == "CONSTR_PRIMARY" for c in table_constraints(stmt)):
        return True
    return any(
        c.get("contype") == "CONSTR_PRIMARY" for col in create_columns(stmt) for c in col.constraints
    )


def is_temporary(stmt: Statement) -> bool:
    return (stmt.node.get("relation") or {}).get("relpersistence") == "t"


def is_partition(stmt: Statement) -> bool:
    return bool(stmt.node.get("partbound"))


def created_tables(statements: list[Statement], rv: object) -> Iterator[tuple[Statement, QName]]:
    for stmt in statements:
        if stmt.kind == "CreateStmt":
            yield stmt, rv(stmt.node.get("relation"))  # type: ignore[operator]
