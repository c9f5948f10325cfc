"""PostgreSQL's naming rules: the 63-byte identifier limit (NAMEDATALEN - 1) and the names it gives what a
migration leaves unnamed (constraints, indexes, the sequences of serial and identity columns)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from schemalint.sql.names import QName, strings
from schemalint.sql.nodes import Node, unwrap
from schemalint.sql.parse import identifier_tokens

MAX_IDENTIFIER_BYTES = 63

_CONSTRAINT_SUFFIX = {"PRIMARY": "pkey", "UNIQUE": "key", "CHECK": "check", "FOREIGN": "fkey", "EXCLUSION": "excl"}


def truncate_identifier(name: str) -> str:
    """The name PostgreSQL actually uses: cut to 63 bytes at a character boundary (pg_mbcliplen)."""
    encoded = name.encode("utf-8")
    if len(encoded) <= MAX_IDENTIFIER_BYTES:
        return name
    return encoded[:MAX_IDENTIFIER_BYTES].decode("utf-8", errors="ignore")


def _clip(name: bytes, length: int) -> bytes:
    """The first ``length`` bytes of a UTF-8 name, cut back to a character boundary (pg_mbcliplen)."""
    return name[:length].decode("utf-8", errors="ignore").encode("utf-8")


def make_object_name(name1: str, name2: str | None, label: str | None) -> str:
    """The name PostgreSQL builds for an implicit object (makeObjectName, PG15 indexcmds.c/namespace.c):
    ``name1_name2_label`` in at most 63 bytes, taking bytes off the longer of name1 and name2 first."""
    first, second = name1.encode("utf-8"), (name2 or "").encode("utf-8")
    overhead = (len(label.encode("utf-8")) + 1 if label else 0) + (1 if name2 is not None else 0)
    available = MAX_IDENTIFIER_BYTES - overhead
    first_len, second_len = len(first), len(second)
    while first_len + second_len > available:
        if first_len > second_len:
            first_len -= 1
        else:
            second_len -= 1
    out = _clip(first, first_len)
    if name2 is not None:
        out += b"_" + _clip(second, second_len)
    if label:
        out += b"_" + label.encode("utf-8")
    return out.decode("utf-8")


def name_addition(columns: list[str] | tuple[str, ...]) -> str:
    """The column part of an implicit name (ChooseIndexNameAddition): the names joined by "_", stopping once
    63 bytes are reached."""
    out = b""
    for column in columns:
        if out:
            out += b"_"
        out += column.encode("utf-8")[:MAX_IDENTIFIER_BYTES]
        if len(out) >= MAX_IDENTIFIER_BYTES + 1:
            break
    return out.decode("utf-8", errors="ignore")


def constraint_name(table: str, kind: str, columns: tuple[str, ...]) -> str:
    """The name PostgreSQL gives an unnamed constraint (ChooseConstraintName / ChooseIndexName): ``t_pkey``,
    ``t_a_b_key``, ``t_a_fkey``, ``t_a_check`` (a check on one column; ``t_check`` otherwise), ``t_a_excl``."""
    suffix = _CONSTRAINT_SUFFIX[kind]
    if kind == "PRIMARY" or not columns:
        return make_object_name(table, None, suffix)
    return make_object_name(table, name_addition(columns), suffix)


def index_name(table: QName, columns: list[str | None]) -> str:
    """The name PostgreSQL gives an unnamed index (ChooseIndexName): an expression column is named as the
    expression would be (see :func:`expression_name`), else ``expr``."""
    return make_object_name(table[1], name_addition([c or "expr" for c in columns]), "idx")


_FIXED_NAMES = {"CaseExpr": "case", "CoalesceExpr": "coalesce", "A_ArrayExpr": "array", "RowExpr": "row",
                "XmlExpr": "xmlelement"}


def expression_name(node: object) -> str | None:
    """The column name PostgreSQL figures for an index expression (FigureColnameInternal, PG15): a function's
    name, a cast's argument (else its type), ``coalesce``, ``case``, …; None when it has none."""
    kind, fields = unwrap(node)
    if kind == "ColumnRef":
        last = unwrap((fields.get("fields") or [None])[-1])[1]
        return str(last["sval"]) if isinstance(last, dict) and "sval" in last else None
    if kind == "FuncCall":
        names = strings(fields.get("funcname"))
        return names[-1] if names else None
    if kind == "TypeCast":
        inner = expression_name(fields.get("arg"))
        if inner is not None:
            return inner
        names = strings((fields.get("typeName") or {}).get("names"))
        return names[-1] if names else None
    if kind == "MinMaxExpr":
        return "greatest" if fields.get("op") == "IS_GREATEST" else "least"
    return _FIXED_NAMES.get(kind)


def owned_sequence_name(table: QName, column: str) -> QName:
    """The sequence a serial or identity column owns: ``<table>_<column>_seq``."""
    return (table[0], make_object_name(table[1], column, "seq"))


def defined_identifiers(kind: str, node: Node) -> Iterator[tuple[str, str, int | None]]:
    """(what, name, location) for every name a statement gives to a new or renamed object."""
    if kind == "CreateStmt":
        rel = node.get("relation") or {}
        yield "table", rel.get("relname", ""), rel.get("location")
    elif kind == "CreateTableAsStmt" or (kind == "SelectStmt" and node.get("intoClause")):
        rel = (node.get("into") or node.get("intoClause") or {}).get("rel") or {}
        yield "table", rel.get("relname", ""), rel.get("location")
    elif kind == "ViewStmt":
        rel = node.get("view") or {}
        yield "view", rel.get("relname", ""), rel.get("location")
    elif kind == "IndexStmt" and node.get("idxname"):
        yield "index", node["idxname"], None
    elif kind == "CreatePolicyStmt":
        yield "policy", node.get("policy_name", ""), None
    elif kind == "CreateFunctionStmt":
        names = strings(node.get("funcname"))
        yield ("procedure" if node.get("is_procedure") else "function"), names[-1] if names else "", None
    elif kind == "RenameStmt":
        renamed = {"OBJECT_COLUMN": "column", "OBJECT_TABCONSTRAINT": "constraint", "OBJECT_INDEX": "index",
                   "OBJECT_VIEW": "view", "OBJECT_SEQUENCE": "sequence", "OBJECT_SCHEMA": "schema"}
        yield renamed.get(str(node.get("renameType")), "table"), node.get("newname", ""), None
    elif kind == "CreateSeqStmt":
        rel = node.get("sequence") or {}
        yield "sequence", rel.get("relname", ""), rel.get("location")
    if kind == "CreateStmt":
        for element in node.get("tableElts") or ():
            yield from _element_names(element)
    elif kind == "AlterTableStmt":
        for cmd in node.get("cmds") or ():
            definition = (cmd.get("AlterTableCmd") or {}).get("def")
            if definition:
                yield from _element_names(definition)


def _element_names(element: Node) -> Iterator[tuple[str, str, int | None]]:
    kind, fields = unwrap(element)
    if kind == "ColumnDef":
        if fields.get("colname"):
            yield "column", fields["colname"], fields.get("location")
        for con in fields.get("constraints") or ():
            yield from _element_names(con)
    elif kind == "Constraint" and fields.get("conname"):
        yield "constraint", fields["conname"], fields.get("location")


_DEFINING = frozenset((
    "CreateStmt", "CreateTableAsStmt", "ViewStmt", "IndexStmt", "CreatePolicyStmt", "CreateFunctionStmt",
    "RenameStmt", "CreateSeqStmt", "AlterTableStmt", "SelectStmt",
))


def long_defined_names(kind: str, node: Node, text: str | Callable[[], str]) -> list[tuple[str, str, int]]:
    """(what, full name, offset in ``text``) of every defined name over 63 bytes.

    PostgreSQL's lexer truncates identifiers before the parser sees them, so the tree only holds the
    63-byte version; the full name is recovered from the scanner's tokens."""
    if kind not in _DEFINING:
        return []
    truncated = {name: what for what, name, _ in defined_identifiers(kind, node)
                 if len(name.encode("utf-8")) >= MAX_IDENTIFIER_BYTES - 3}
    if not truncated:
        return []
    if callable(text):
        text = text()
    out: list[tuple[str, str, int]] = []
    for offset, name in identifier_tokens(text):
        if len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
            short = truncate_identifier(name)
            if short in truncated:
                out.append((truncated[short], name, offset))
    return out
