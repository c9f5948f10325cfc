"""Identifiers as PostgreSQL sees them.

The parser has already folded unquoted identifiers to lower case and kept quoted ones as written,
so names taken from the tree compare correctly as plain strings. ``public.t`` and ``t`` are the
same table: unqualified names resolve to the default schema.
"""

from __future__ import annotations

import re
from typing import Any

from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

QName = tuple[str, str]  # (schema, name)

DEFAULT_SCHEMA = "public"
_PLAIN = re.compile(r"^[a-z_][a-z0-9_$]*$")
_NEEDS_QUOTES = RESERVED_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS | COL_NAME_KEYWORDS


def quote_ident(name: str) -> str:
    """Quote an identifier only when PostgreSQL needs it (as ``quote_ident()`` does)."""
    if _PLAIN.match(name) and name not in _NEEDS_QUOTES:
        return name
    return '"' + name.replace('"', '""') + '"'


def strings(nodes: Any) -> list[str]:
    """The texts of a list of ``String`` nodes (how the tree spells qualified names)."""
    out: list[str] = []
    for item in nodes or ():
        if "String" in item:
            out.append(item["String"].get("sval", ""))
        elif "A_Star" in item:
            out.append("*")
    return out


def qualify(parts: list[str], default_schema: str = DEFAULT_SCHEMA) -> QName:
    if not parts:
        return (default_schema, "")
    if len(parts) == 1:
        return (default_schema, parts[0])
    return (parts[-2], parts[-1])


def range_var(node: Any, default_schema: str = DEFAULT_SCHEMA) -> QName:
    """The qualified name of a ``RangeVar`` (``{"relname": …, "schemaname": …}``)."""
    if node and "RangeVar" in node:
        node = node["RangeVar"]
    if not node:
        return (default_schema, "")
    return (node.get("schemaname") or default_schema, node.get("relname", ""))


def display(name: QName, default_schema: str = DEFAULT_SCHEMA) -> str:
    """How to write a qualified name in a message or a recipe."""
    schema, rel = name
    if schema == default_schema:
        return quote_ident(rel)
    return f"{quote_ident(schema)}.{quote_ident(rel)}"
