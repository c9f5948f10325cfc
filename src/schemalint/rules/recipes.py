"""Shared wording and SQL snippets for messages and help texts (rules never print)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from schemalint.context import Context
from schemalint.findings import Edit
from schemalint.model.locks import LockMode
from schemalint.sql.names import QName, quote_ident
from schemalint.sql.nodes import Node, unwrap
from schemalint.sql.parse import Statement

if TYPE_CHECKING:
    from schemalint.authoring.recipe import RecipeEngine, Step


def lock_phrase(mode: LockMode, table: str, duration: str = "") -> str:
    """"takes a SHARE lock on accounts for the whole build, blocking writes … but not reads"."""
    during = f" {duration}" if duration else ""
    return f"takes {mode.article} {mode.label} lock on {table}{during}, blocking {mode.blocks}"


def locks_phrase(locks: list[tuple[LockMode, str]], duration: str = "") -> str:
    """One lock per relation: "takes an ACCESS EXCLUSIVE lock on t (blocking every read and write) and a SHARE
    ROW EXCLUSIVE lock on u (blocking writes …)"; the same lock on several: "… lock on t and u, blocking …"."""
    merged: dict[LockMode, list[str]] = {}
    for mode, name in locks:
        if name not in merged.setdefault(mode, []):
            merged[mode].append(name)
    if len(merged) == 1:
        ((mode, names),) = merged.items()
        return lock_phrase(mode, " and ".join(names), duration)
    during = f" {duration}" if duration else ""
    parts = [f"{mode.article} {mode.label} lock on {' and '.join(names)} (blocking {mode.blocks})"
             for mode, names in sorted(merged.items(), reverse=True)]
    return f"takes {' and '.join(parts)}{during}"


def lock_of(ctx: Context, stmt: Statement, table: QName | None = None,
            default: LockMode = LockMode.ACCESS_EXCLUSIVE) -> LockMode:
    """The strongest lock the whole statement takes on ``table`` (any table when None), from the one
    statement → lock table in locks.py."""
    modes = [lock.mode for lock in ctx.locks(stmt) if table is None or lock.table == table]
    return max(modes) if modes else default


def batch_key(ctx: Context, table: QName) -> str:
    """What a batched UPDATE selects by: the primary key the history knows ("id", "(tenant_id, id)"), else a
    placeholder for the user to fill in."""
    known = ctx.model.table(table)
    primary = next((c for c in known.constraints.values() if c.kind == "PRIMARY"), None) if known else None
    if primary is None or not primary.columns:
        return "<key>"
    columns = [quote_ident(c) for c in primary.columns]
    return columns[0] if len(columns) == 1 else f"({', '.join(columns)})"


def lock_timeout_prefix(ctx: Context) -> str:
    if ctx.lock_timeout or ctx.option("locks", "runner-sets-lock-timeout"):
        return ""
    return "SET lock_timeout = '5s';\n"


def steps_text(steps: list[Step]) -> str:
    """The recipe engine's steps as a help text: each statement with its note as a trailing comment."""
    return "\n".join(f"{s.sql}  -- {s.note}" if s.note else s.sql for s in steps)


def not_valid_steps(table: str, constraint_sql: str, constraint_name: str) -> str:
    """ADD a constraint NOT VALID (a brief lock, new rows checked), then VALIDATE it under a weak lock — the
    recipe engine's statements (schemalint.authoring.recipe), so help, generator and fix say the same."""
    from schemalint.authoring.recipe import RecipeEngine

    return steps_text(RecipeEngine().not_valid(table, constraint_sql, constraint_name))


def set_not_null_steps(table: QName, table_sql: str, column: str) -> str:
    """PG12+: SET NOT NULL without its full-table scan, proven by a validated CHECK (col IS NOT NULL)."""
    from schemalint.authoring.recipe import RecipeEngine

    del table
    return steps_text(RecipeEngine().set_not_null(table_sql, column).steps)


def one_line(sql: str, limit: int = 200) -> str:
    text = re.sub(r"\s+", " ", sql).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def add_keyword_after(sql: str, pattern: str, keyword: str) -> str:
    """Insert ``keyword`` after the first match of ``pattern`` (case-insensitive) in ``sql``."""
    return re.sub(pattern, lambda m: f"{m.group(0)} {keyword}", sql, count=1, flags=re.I)


def scan_sql(text: str, start: int, end: int, stop: Callable[[int], bool]) -> int:
    """Walk SQL text from ``start``, skipping quoted strings and nested parentheses, and return the first
    offset at parenthesis depth 0 where ``stop`` says so, or where an unmatched ``)`` closes the enclosing
    group, or ``end``."""
    depth = 0
    i = start
    while i < end:
        ch = text[i]
        if ch == "'":
            close = text.find("'", i + 1, end)
            while close != -1 and close + 1 < end and text[close + 1] == "'":
                close = text.find("'", close + 2, end)
            if close == -1:
                return end
            i = close + 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                return i
            depth -= 1
        elif depth == 0 and stop(i):
            return i
        i += 1
    return end


def squeeze(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


def parenthesized_after(text: str, start: int, end: int) -> str | None:
    """The first balanced ``( … )`` group in ``text[start:end]``, without its outer parentheses."""
    open_at = text.find("(", start, end)
    if open_at < 0:
        return None
    close = scan_sql(text, open_at + 1, end, lambda i: False)
    return squeeze(text[open_at + 1 : close]) if close < end else None


_EXPRESSION_END = re.compile(
    r"(NOT\s+NULL|NULL|CHECK|REFERENCES|UNIQUE|PRIMARY|CONSTRAINT|GENERATED|COLLATE|DEFAULT)\b", re.I)


def expression_at(text: str, start: int, end: int) -> str | None:
    """The SQL expression that starts at ``start`` (a column DEFAULT, say), up to the next top-level comma
    or column-constraint keyword; None when it cannot be delimited."""
    def stop(i: int) -> bool:
        return text[i] == "," or (i > start and text[i - 1].isspace() and bool(_EXPRESSION_END.match(text, i)))

    expression = squeeze(text[start : scan_sql(text, start, end, stop)])
    return expression or None


def insert_after_keyword(stmt: Statement, pattern: str, keyword: str) -> Edit | None:
    """An edit that inserts `` KEYWORD`` after the first match of ``pattern`` in the statement."""
    match = re.search(pattern, stmt.text, re.I)
    if match is None:
        return None
    at = stmt.start + match.end()
    return Edit(at, at, f" {keyword}")


# --- fixes: the statements the recipe engine writes, as an edit of the finding's statement --------------
def engine(ctx: Context) -> RecipeEngine:
    from schemalint.authoring.recipe import RecipeEngine

    return RecipeEngine(ctx.settings, ctx.model, str(ctx.option("locks", "lock-timeout")))


def replace_statement(ctx: Context, stmt: Statement, steps: list[Step], safe: bool) -> Edit | None:
    """An edit that replaces the statement (its text up to, not including, its semicolon) with the steps.
    Only for a statement of the file itself (not one inside a DO block or a function), and for steps that need
    their own transactions only where each statement commits on its own."""
    if ctx.current is not None or not steps or stmt.source is not ctx.source:
        return None
    if any(s.own_transaction or s.outside_transaction for s in steps) and ctx.in_transaction:
        return None  # VALIDATE / CONCURRENTLY would share the block: no mechanical fix here
    text = "\n".join(s.sql for s in steps)
    return Edit(stmt.start, stmt.end, text[:-1] if text.endswith(";") else text, safe=safe)


def single_command(stmt: Statement) -> Node | None:
    """The one subcommand of an ALTER TABLE that has exactly one (a fix rewrites the whole statement)."""
    cmds = stmt.node.get("cmds") or []
    return unwrap(cmds[0])[1] if stmt.kind == "AlterTableStmt" and len(cmds) == 1 else None
