"""The objects a statement names, qualified: what it creates, drops or moves to another schema. One reading
for the schema model's replay, the lock table and the rules."""

from __future__ import annotations

from typing import Any

from schemalint.sql.names import QName, qualify, range_var, strings
from schemalint.sql.nodes import Node, const_value, unwrap, walk

_CREATED_LABELS = {
    "CreateSchemaStmt": "schema",
    "CreateEnumStmt": "type",
    "CompositeTypeStmt": "type",
    "CreateDomainStmt": "type",
    "CreateRangeStmt": "type",
    "CreateSeqStmt": "sequence",
    "ViewStmt": "view",
    "CreateFunctionStmt": "function",
}


def select_into(kind: str, node: Node) -> Node | None:
    """``SELECT … INTO t`` creates table ``t`` like ``CREATE TABLE t AS SELECT …``: that statement's node
    (``into``, ``query``, ``objtype``), or None for any other statement."""
    if kind != "SelectStmt" or not node.get("intoClause"):
        return None
    query = {k: v for k, v in node.items() if k != "intoClause"}
    return {"into": node["intoClause"], "query": {"SelectStmt": query}, "objtype": "OBJECT_TABLE"}


def created_name(kind: str, node: Node, default_schema: str) -> QName | None:
    """The qualified name of the object a CREATE statement makes (a schema is ("", name))."""
    if kind == "CreateSchemaStmt":
        return ("", node.get("schemaname", ""))
    if kind == "ViewStmt":
        return range_var(node.get("view"), default_schema)
    if kind == "CreateTableAsStmt":
        return range_var((node.get("into") or {}).get("rel"), default_schema)
    if kind == "CreateFunctionStmt":
        return qualify(strings(node.get("funcname")), default_schema)
    if kind in ("CreateEnumStmt", "CreateRangeStmt"):
        return qualify(strings(node.get("typeName")), default_schema)
    if kind == "CreateDomainStmt":
        return qualify(strings(node.get("domainname")), default_schema)
    if kind == "CompositeTypeStmt":
        return range_var(node.get("typevar"), default_schema)
    if kind == "CreateSeqStmt":
        return range_var(node.get("sequence"), default_schema)
    return None


def created_object(kind: str, node: Node, default_schema: str) -> tuple[str, QName] | None:
    """(kind of object, name) for the schemas, types, sequences, views and functions a statement creates
    (a materialized view counts as a view; tables are the model's own business)."""
    if kind == "CreateTableAsStmt":
        matview = node.get("objtype") == "OBJECT_MATVIEW"
        return ("view", range_var((node.get("into") or {}).get("rel"), default_schema)) if matview else None
    label = _CREATED_LABELS.get(kind)
    name = created_name(kind, node, default_schema) if label is not None else None
    return (label, name) if label is not None and name is not None else None


def dropped_names(node: Node, default_schema: str) -> list[QName]:
    """The qualified names a DropStmt names, whatever the object's node (List, TypeName, ObjectWithArgs)."""
    out: list[QName] = []
    for obj in node.get("objects") or ():
        kind, fields = unwrap(obj)
        if kind == "List":
            out.append(qualify(strings(fields.get("items")), default_schema))
        elif kind == "TypeName":
            out.append(qualify(strings(fields.get("names")), default_schema))
        elif kind == "ObjectWithArgs":
            out.append(qualify(strings(fields.get("objname")), default_schema))
        elif kind == "String":
            out.append(("", str(fields.get("sval", ""))))
    return out


def dropped_on_table(node: Node, default_schema: str) -> list[tuple[QName, str]]:
    """DROP TRIGGER / POLICY / RULE name ON table: (the table, the object's name) for each."""
    out: list[tuple[QName, str]] = []
    for obj in node.get("objects") or ():
        parts = strings(unwrap(obj)[1].get("items")) if "List" in obj else []
        if len(parts) >= 2:
            out.append((qualify(parts[:-1], default_schema), parts[-1]))
    return out


_DROPPED_KINDS = {"OBJECT_FUNCTION": "function", "OBJECT_PROCEDURE": "function", "OBJECT_ROUTINE": "function",
                  "OBJECT_TYPE": "type", "OBJECT_DOMAIN": "type", "OBJECT_SEQUENCE": "sequence",
                  "OBJECT_VIEW": "view", "OBJECT_MATVIEW": "view", "OBJECT_SCHEMA": "schema"}


def dropped_objects(node: Node, default_schema: str) -> list[tuple[str, QName]]:
    """(kind of object, name) for the schemas, types, sequences, views and functions a DropStmt drops."""
    label = _DROPPED_KINDS.get(str(node.get("removeType", "")))
    return [(label, name) for name in dropped_names(node, default_schema)] if label else []


_MOVED_RELATIONS = ("OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE")
_MOVED_KINDS = {**{k: "relation" for k in _MOVED_RELATIONS}, "OBJECT_SEQUENCE": "sequence",
                "OBJECT_FUNCTION": "function", "OBJECT_PROCEDURE": "function", "OBJECT_ROUTINE": "function",
                "OBJECT_TYPE": "type", "OBJECT_DOMAIN": "type"}


def moved_object_kind(node: Node) -> str | None:
    """What ALTER … SET SCHEMA moves: relation, sequence, function or type (None for anything else)."""
    return _MOVED_KINDS.get(str(node.get("objectType", "")))


def moved_object_name(node: Node, default_schema: str) -> QName | None:
    if node.get("relation"):
        return range_var(node["relation"], default_schema)
    kind, obj = unwrap(node.get("object"))
    if kind == "ObjectWithArgs":
        return qualify(strings(obj.get("objname")), default_schema)
    if kind == "List":
        return qualify(strings(obj.get("items")), default_schema)
    if kind == "TypeName":
        return qualify(strings(obj.get("names")), default_schema)
    return None


def query_reads(query: Any, default_schema: str) -> tuple[tuple[QName, ...], frozenset[str]]:
    """The relations a query reads (not its CTEs) and the column names it uses (a view's dependencies)."""
    nodes = list(walk(query))
    ctes = {str(fields.get("ctename", "")) for kind, fields in nodes if kind == "CommonTableExpr"}
    relations: list[QName] = []
    columns: set[str] = set()
    for kind, fields in nodes:
        if kind == "RangeVar":
            if fields.get("schemaname") is None and fields.get("relname") in ctes:
                continue
            relation = range_var(fields, default_schema)
            if relation not in relations:
                relations.append(relation)
        elif kind == "ColumnRef":
            items = fields.get("fields") or []
            last = unwrap(items[-1]) if items else ("", {})
            columns.add("*" if last[0] == "A_Star" else str(last[1].get("sval", "")))
    return tuple(relations), frozenset(columns)


def nextval_sequence(default_schema: str, expr: Any) -> QName | None:
    """``nextval('seq'::regclass)`` → the sequence."""
    for kind, fields in walk(expr):
        if kind == "FuncCall" and strings(fields.get("funcname"))[-1:] == ["nextval"]:
            args = fields.get("args") or []
            value = const_value(args[0]) if args else None
            if isinstance(value, str):
                return qualify([p.strip('"') for p in value.split(".")], default_schema)
    return None


def not_null_check_column(expr: Any) -> str | None:
    """``col IS NOT NULL`` → ``col`` (the only CHECK that lets PG12+ skip SET NOT NULL's scan)."""
    kind, fields = unwrap(expr)
    if kind != "NullTest" or fields.get("nulltesttype") != "IS_NOT_NULL":
        return None
    arg_kind, arg = unwrap(fields.get("arg"))
    if arg_kind != "ColumnRef":
        return None
    parts = strings(arg.get("fields"))
    return parts[-1] if parts else None


_WRITES = ("UpdateStmt", "DeleteStmt", "InsertStmt", "MergeStmt")


def data_writes(kind: str, node: Node) -> list[tuple[str, Node, int | None]]:
    """(kind, node, location) of every INSERT/UPDATE/DELETE/MERGE a statement runs: itself (location None)
    and those in its WITH clauses, at any depth (``WITH d AS (DELETE FROM t RETURNING *) INSERT …``), each with
    the location of its common table expression."""
    out: list[tuple[str, Node, int | None]] = []
    if kind in _WRITES:
        out.append((kind, node, None))
    _cte_writes(node, out)
    return out


def _cte_writes(node: Node, out: list[tuple[str, Node, int | None]]) -> None:
    if isinstance(node.get("selectStmt"), dict):  # INSERT INTO t WITH … SELECT …
        _cte_writes(unwrap(node["selectStmt"])[1], out)
    for item in (node.get("withClause") or {}).get("ctes") or ():
        _, cte = unwrap(item)
        inner_kind, inner = unwrap(cte.get("ctequery"))
        if inner_kind in _WRITES:
            out.append((inner_kind, inner, cte.get("location")))
        if isinstance(inner, dict):
            _cte_writes(inner, out)
