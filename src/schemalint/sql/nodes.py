"""Small helpers over pglast's JSON trees (``{"NodeKind": {fields…}}`` dicts)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Node = dict[str, Any]


def unwrap(node: Any) -> tuple[str, Node]:
    """``{"Kind": {…}}`` → ``("Kind", {…})``; anything else → ``("", {})``."""
    if isinstance(node, dict) and len(node) == 1:
        ((kind, fields),) = node.items()
        if isinstance(fields, dict):
            return kind, fields
    return "", {}


def walk(node: Any) -> Iterator[tuple[str, Node]]:
    """Every ``(kind, fields)`` in the tree, depth first, the root included. The walk keeps one iterator per
    level, never a level's elements: a huge statement's data lists (sql/bounded.py) are read one element
    at a time."""
    stack: list[Iterator[Any]] = [iter((node,))]
    while stack:
        for item in stack[-1]:
            if isinstance(item, dict):
                if len(item) == 1:
                    ((key, value),) = item.items()
                    if isinstance(value, dict) and key[:1].isupper():
                        yield key, value
                        stack.append(iter(value.values()))
                        break
                stack.append(iter(item.values()))
                break
            if isinstance(item, list):
                stack.append(iter(item))
                break
        else:
            stack.pop()


def const_value(node: Any) -> str | int | float | bool | None:
    """The value of an ``A_Const`` (possibly wrapped in a cast), or None."""
    kind, fields = unwrap(node)
    if kind == "TypeCast":
        return const_value(fields.get("arg"))
    if kind != "A_Const" or fields.get("isnull"):
        return None
    for key in ("sval", "ival", "fval", "boolval", "bsval"):
        if key in fields:
            inner = fields[key]
            if key == "ival":
                return int(inner.get("ival", 0))
            if key == "fval":
                return str(inner.get("fval", "0"))
            if key == "boolval":
                return bool(inner.get("boolval", False))
            return str(inner.get(key, ""))
    if fields.get("ival") == {}:
        return 0
    return None


def option_enabled(options: Any, name: str) -> bool:
    """Whether a parenthesized option list (``VACUUM (FULL false)``, ``REINDEX (CONCURRENTLY)``) turns
    ``name`` on, read as PostgreSQL reads booleans: bare = true; true/on/yes/1 and false/off/no/0."""
    for item in options or ():
        _, elem = unwrap(item)
        if elem.get("defname") != name:
            continue
        arg = elem.get("arg")
        if arg is None:
            return True
        kind, value = unwrap(arg)
        if kind == "Integer":
            return bool(value.get("ival", 0))
        if kind == "Boolean":
            return bool(value.get("boolval", False))
        text = str(value.get("sval", "")).strip().lower()
        return text in ("true", "on", "yes", "1", "t", "y") or (text not in ("false", "off", "no", "0", "f", "n")
                                                                and bool(text))
    return False
