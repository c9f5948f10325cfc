"""Fixes as edits of the file: a keyword inserted, or a statement replaced by the recipe engine's safe
statements."""

from __future__ import annotations

import re

from schemalint.authoring.recipe import RecipeEngine, Step
from schemalint.context import Context
from schemalint.findings import Edit
from schemalint.sql.nodes import Node, unwrap
from schemalint.sql.parse import Statement
from schemalint.sql.scan import squeeze


def insert_after_keyword(stmt: Statement, pattern: str, keyword: str) -> Edit | None:
    """An edit that inserts `` KEYWORD`` after the first match of ``pattern`` in the statement."""
    match = re.search(pattern, stmt.text, re.I)
    if match is None:
        return None
    at = stmt.start + match.end()
    return Edit(at, at, f" {keyword}")


def recipes(ctx: Context) -> RecipeEngine:
    """The recipe engine with the project's settings and the history's schema model."""
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


_QUALIFIED_NAME = re.compile(r'(?:"(?:[^"]|"")*"|[^\s."(]+)(?:\s*\.\s*(?:"(?:[^"]|"")*"|[^\s."(]+))*')


def text_after_relation(stmt: Statement) -> str:
    """The user's text after the statement's table name (its ``relation``), squeezed to one line: the
    subcommands of an ALTER TABLE, ``USING gin (tags) WHERE …`` of a CREATE INDEX."""
    at = stmt.offset_of((stmt.node.get("relation") or {}).get("location")) - stmt.start
    match = _QUALIFIED_NAME.match(stmt.text, max(at, 0))
    return squeeze(stmt.text[match.end() if match else at:]).strip()
