"""Column types as the parser spells them, normalised so that old and new types compare."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemalint.sql.names import qualify, strings
from schemalint.sql.nodes import const_value

_ALIASES = {
    "int": "int4", "integer": "int4", "int4": "int4", "bigint": "int8", "int8": "int8",
    "smallint": "int2", "int2": "int2", "serial": "serial", "serial4": "serial",
    "bigserial": "bigserial", "serial8": "bigserial", "smallserial": "smallserial",
    "serial2": "smallserial", "bool": "bool", "boolean": "bool", "float8": "float8",
    "double precision": "float8", "float4": "float4", "real": "float4", "decimal": "numeric",
    "numeric": "numeric", "varchar": "varchar", "character varying": "varchar",
    "bpchar": "bpchar", "text": "text",
    "timestamp": "timestamp", "timestamptz": "timestamptz", "time": "time", "timetz": "timetz",
    "varbit": "varbit", "bit varying": "varbit", "bit": "bit", "json": "json", "jsonb": "jsonb",
    "uuid": "uuid", "date": "date", "interval": "interval", "bytea": "bytea",
}
_DISPLAY = {
    "int4": "integer", "int8": "bigint", "int2": "smallint", "bool": "boolean",
    "float8": "double precision", "float4": "real", "bpchar": "char", "varbit": "bit varying",
}


@dataclass(frozen=True, slots=True)
class ColumnType:
    name: str  # normalised base name, e.g. "int4", "varchar", "numeric", or "schema.mytype"
    mods: tuple[str, ...] = ()
    array_dims: int = 0

    def __str__(self) -> str:
        text = _DISPLAY.get(self.name, self.name)
        if self.mods:
            text += "(" + ",".join(self.mods) + ")"
        return text + "[]" * self.array_dims

    @property
    def is_serial(self) -> bool:
        return self.name in ("serial", "bigserial", "smallserial") and not self.array_dims

    @property
    def storage(self) -> ColumnType:
        """The type the column really has: serial is integer, bigserial bigint, smallserial smallint."""
        if self.is_serial:
            return ColumnType(_SERIAL_STORAGE[self.name])
        return self


_SERIAL_STORAGE = {"serial": "int4", "bigserial": "int8", "smallserial": "int2"}


def column_type(type_name: dict[str, Any] | None) -> ColumnType | None:
    """Normalise a ``TypeName`` from the tree."""
    if not type_name:
        return None
    if "TypeName" in type_name:
        type_name = type_name["TypeName"]
    parts = strings(type_name.get("names"))
    if not parts:
        return None
    if len(parts) == 2 and parts[0] == "pg_catalog":
        parts = parts[1:]
    base = ".".join(parts)
    base = _ALIASES.get(base, base)
    mods = tuple(str(const_value(m)) for m in type_name.get("typmods") or ())
    if base == "bpchar" and not mods:
        mods = ("1",)  # bare char is character(1)
    dims = len(type_name.get("arrayBounds") or ())
    return ColumnType(base, mods, dims)


def type_text(type_name: dict[str, Any] | None) -> str:
    """A TypeName as text for messages (``integer``, ``public.mood``, ``text[]``); ``?`` when unreadable."""
    ctype = column_type(type_name)
    return str(ctype) if ctype is not None else "?"


def collation_name(clause: dict[str, Any] | None) -> str | None:
    """The collation a column definition's ``COLLATE`` names (``C``, ``en_US``); None when it names none or
    ``default`` (both mean the type's default collation)."""
    if not clause:
        return None
    if "CollateClause" in clause:
        clause = clause["CollateClause"]
    parts = strings(clause.get("collname"))
    if len(parts) == 2 and parts[0] == "pg_catalog":
        parts = parts[1:]
    name = ".".join(parts)
    return None if name in ("", "default") else name


def routine_arguments(parameters: Any) -> tuple[str, ...]:
    """A routine's identity argument types from its FunctionParameter list (OUT and TABLE columns are not part of
    it), as :func:`type_text` spells them: ``f(a int, OUT b text)`` → ``("integer",)``."""
    out = []
    for item in parameters or ():
        param = item.get("FunctionParameter", item) if isinstance(item, dict) else {}
        if param.get("mode") not in ("FUNC_PARAM_OUT", "FUNC_PARAM_TABLE"):
            out.append(type_text(param.get("argType")))
    return tuple(out)


def dropped_arguments(object_with_args: dict[str, Any]) -> tuple[str, ...] | None:
    """The argument types a ``DROP FUNCTION f(…)`` names; None for ``DROP FUNCTION f`` (any one of that name)."""
    if object_with_args.get("args_unspecified"):
        return None
    return tuple(type_text(t) for t in object_with_args.get("objargs") or ())


def routine_identity(kind: str, node: dict[str, Any], default_schema: str) -> tuple[tuple[str, str], tuple[str, ...]] | None:
    """(qualified name, argument types) of the routine a CREATE FUNCTION/PROCEDURE or CREATE AGGREGATE makes;
    None for any other statement."""
    if kind == "CreateFunctionStmt":
        return qualify(strings(node.get("funcname")), default_schema), routine_arguments(node.get("parameters"))
    if kind == "DefineStmt" and node.get("kind") == "OBJECT_AGGREGATE":
        listed = node.get("args") or []
        first = listed[0] if listed and isinstance(listed[0], dict) else {}
        params = first.get("List", {}).get("items") if "List" in first else []
        return qualify(strings(node.get("defnames")), default_schema), routine_arguments(params)
    return None
