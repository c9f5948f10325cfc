"""Shared wording and SQL snippets for messages and help texts (rules never print)."""

from __future__ import annotations

import re

from schemalint.context import Context
from schemalint.locks import LockMode
from schemalint.sql.names import QName, quote_ident
from schemalint.sql.parse import Statement


def lock_phrase(mode: LockMode, table: str, duration: str = "") -> str:
    """"takes a SHARE lock on accounts for the whole build, blocking writes … but not reads"."""
    during = f" {duration}" if duration else ""
    return f"takes {mode.article} {mode.label} lock on {table}{during}, blocking {mode.blocks}"


def lock_of(ctx: Context, stmt: Statement, table: QName | None = None,
            default: LockMode = LockMode.ACCESS_EXCLUSIVE) -> LockMode:
    """The lock ``stmt`` takes on ``table``, from the one statement → lock table in locks.py."""
    for lock in ctx.locks(stmt):
        if table is None or lock.table == table:
            return lock.mode
    return default


def lock_timeout_prefix(ctx: Context) -> str:
    if ctx.lock_timeout or ctx.option("locks", "runner-sets-lock-timeout"):
        return ""
    return "SET lock_timeout = '5s';\n"


def one_line(sql: str, limit: int = 200) -> str:
    text = re.sub(r"\s+", " ", sql).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def add_keyword_after(sql: str, pattern: str, keyword: str) -> str:
    """Insert ``keyword`` after the first match of ``pattern`` (case-insensitive) in ``sql``."""
    return re.sub(pattern, lambda m: f"{m.group(0)} {keyword}", sql, count=1, flags=re.I)


def ident(name: str) -> str:
    return quote_ident(name)


def table_and_column(ctx: Context, table: QName, column: str) -> str:
    return f"{ctx.name(table)}.{quote_ident(column)}"


def parenthesized_after(text: str, start: int, end: int) -> str | None:
    """The first balanced ``( … )`` group in ``text[start:end]``, without its outer parentheses."""
    open_at = text.find("(", start, end)
    if open_at < 0:
        return None
    depth = 0
    for i in range(open_at, end):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return re.sub(r"\s+", " ", text[open_at + 1 : i]).strip()
    return None


_EXPRESSION_END = re.compile(
    r"(NOT\s+NULL|NULL|CHECK|REFERENCES|UNIQUE|PRIMARY|CONSTRAINT|GENERATED|COLLATE|DEFAULT)\b", re.I)


def expression_at(text: str, start: int, end: int) -> str | None:
    """The SQL expression that starts at ``start`` (a column DEFAULT, say), up to the next top-level comma
    or column-constraint keyword; None when it cannot be delimited."""
    depth = 0
    i = start
    while i < end:
        ch = text[i]
        if ch == "'":
            close = text.find("'", i + 1)
            while close != -1 and close + 1 < end and text[close + 1] == "'":
                close = text.find("'", close + 2)
            if close == -1:
                return None
            i = close + 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and (ch == "," or (i > start and text[i - 1].isspace() and _EXPRESSION_END.match(text, i))):
            break
        i += 1
    expression = re.sub(r"\s+", " ", text[start:i]).strip()
    return expression or None
