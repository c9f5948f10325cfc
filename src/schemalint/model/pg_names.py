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


def constraint_name(table: str, kind: str, columns: tuple[str, ...]) -> str:
    """The name PostgreSQL gives an unnamed constraint (ChooseConstraintName)."""
    suffix = _CONSTRAINT_SUFFIX[kind]
    if kind == "PRIMARY":
        return f"{table}_pkey"[:63]
    cols = "_".join(columns) if columns else ""
    return (f"{table}_{cols}_{suffix}" if cols else f"{table}_{suffix}")[:63]


def index_name(table: QName, columns: list[str | None]) -> str:
    """The name PostgreSQL gives an unnamed index (ChooseIndexName): an expression column is ``expr``."""
    return f"{table[1]}_{'_'.join(c or 'expr' for c in columns)}_idx"[:63]


def owned_sequence_name(table: QName, column: str) -> QName:
    """The sequence a serial or identity column owns: ``<table>_<column>_seq``."""
    return (table[0], f"{table[1]}_{column}_seq"[:63])


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
        yield "new name", node.get("newname", ""), None
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
