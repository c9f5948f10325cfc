"""Reading PL/pgSQL bodies (DO blocks, functions, procedures) with pglast's PL/pgSQL parser."""

from __future__ import annotations

import functools
import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from schemalint.sql.names import strings
from schemalint.sql.nodes import Node, unwrap, walk
from schemalint.sql.parse import ParseError, keyword_end, next_cut, parse_plpgsql

LOOPS = frozenset((
    "PLpgSQL_stmt_loop", "PLpgSQL_stmt_while", "PLpgSQL_stmt_fori", "PLpgSQL_stmt_fors",
    "PLpgSQL_stmt_forc", "PLpgSQL_stmt_foreach_a", "PLpgSQL_stmt_dynfors",
))
_TAG = "$schemalint_body$"


@dataclass(slots=True)
class LoopFacts:
    writes: list[str] = field(default_factory=list)  # UPDATE/DELETE statements inside the loop
    sleeps: bool = False
    commits: bool = False
    lineno: int = 0


@dataclass(frozen=True, slots=True)
class EmbeddedSql:
    text: str
    offset: int | None  # character offset in the file where ``text`` starts, when it could be mapped
    dynamic: bool = False  # from EXECUTE '…'
    conditional: bool = False  # in a branch, a loop or a handler, or after a RETURN in one: it may not run


@dataclass(slots=True)
class BodyFacts:
    loops: list[LoopFacts] = field(default_factory=list)
    statements: list[tuple[int, str]] = field(default_factory=list)  # (lineno, SQL) of every SQL statement
    dynamic: list[tuple[int, str]] = field(default_factory=list)  # (lineno, EXECUTE expression)
    conditional: set[int] = field(default_factory=set)  # indexes into statements that may not run
    conditional_dynamic: set[int] = field(default_factory=set)  # indexes into dynamic that may not run
    may_have_returned: bool = False  # a RETURN in a branch was passed: what follows may not run
    ends_transaction: int = 0  # the line of a COMMIT or ROLLBACK the body runs (0: none)


def do_block_body(node: Node) -> tuple[str | None, str]:
    """(body, language) of a DoStmt."""
    body: str | None = None
    language = "plpgsql"
    for arg in node.get("args") or ():
        _, de = unwrap(arg)
        value = unwrap(de.get("arg"))[1].get("sval")
        if de.get("defname") == "as":
            body = value
        elif de.get("defname") == "language" and value:
            language = value
    return body, language


PART = 256_000  # characters of a long body parsed at a time (see _analyse_in_parts)
LONG_BODY = 4 * PART
_HEAD = 65_536  # where the outer BEGIN of a long body is looked for


@functools.lru_cache(maxsize=256)
def analyse_body(body: str) -> BodyFacts | None:
    """Facts about a PL/pgSQL body; None when it does not parse. Cached: the engine (statements it runs)
    and SL116 (its loops) both read the same body; callers must not modify the result."""
    if _TAG in body:
        return None
    if len(body) > LONG_BODY:
        facts = _analyse_in_parts(body)
        if facts is not None:
            return facts
    return _analyse(body)


def _analyse(body: str, facts: BodyFacts | None = None) -> BodyFacts | None:
    source = f"CREATE FUNCTION schemalint_probe() RETURNS void LANGUAGE plpgsql AS {_TAG}{body}{_TAG}"
    try:
        trees = parse_plpgsql(source)
    except (ParseError, ValueError, RecursionError):
        return None
    facts = facts if facts is not None else BodyFacts()
    for tree in trees:
        _collect(tree, facts, None, False)
    return facts


def _analyse_in_parts(body: str) -> BodyFacts | None:
    """A long body's statements, read a part at a time: the outer block's statements are cut into parts of
    about PART characters at ';' + newline, and each part is parsed as a block of its own with the body's
    declarations (line numbers kept by padding), so the PL/pgSQL parser's memory stays bounded whatever the
    body's length. A cut inside a nested block, string or comment makes the part fail to parse: it grows to
    the next cut. None (parse the body whole) when the body has no outer BEGIN near its start or a part would
    grow beyond four times PART (one huge nested block)."""
    begin_end = keyword_end(body[:_HEAD], "BEGIN_P")
    if begin_end is None:
        return None
    declarations = body[:begin_end]
    facts = BodyFacts()
    position, padding = begin_end, 0
    while position < len(body):
        end = next_cut(body, position + PART)
        while True:
            last = end >= len(body)
            part = declarations + "\n" * padding + body[position:end] + ("" if last else "\nEND")
            if _analyse(part, facts) is not None:  # facts are added only when the whole part parsed
                break
            if last or end - position > LONG_BODY:
                return None
            end = next_cut(body, end + PART)
        padding += body.count("\n", position, end)
        position = end
    return facts


def _query(expr: Any) -> str:
    _, fields = unwrap(expr)
    return str(fields.get("query", ""))


def _first_word(sql: str) -> str:
    words = sql.lstrip("( \t\n").split(None, 1)
    return words[0].upper() if words else ""


# Control flow whose statements may not run: the branches of IF and CASE, loop bodies, exception handlers.
_BRANCHING = frozenset(("PLpgSQL_stmt_if", "PLpgSQL_stmt_case", "PLpgSQL_exception")) | LOOPS


def _collect(node: Any, facts: BodyFacts, loop: LoopFacts | None, conditional: bool) -> None:
    if isinstance(node, list):
        for item in node:
            _collect(item, facts, loop, conditional)
        return
    if not isinstance(node, dict):
        return
    for kind, fields in node.items():
        if not isinstance(fields, dict):
            _collect(fields, facts, loop, conditional)
            continue
        lineno = int(fields.get("lineno", 0) or 0)
        current = loop
        maybe = conditional or facts.may_have_returned
        if kind in LOOPS:
            current = LoopFacts(lineno=lineno)
            facts.loops.append(current)
        if kind == "PLpgSQL_stmt_execsql":
            sql = _query(fields.get("sqlstmt"))
            if maybe:
                facts.conditional.add(len(facts.statements))
            facts.statements.append((lineno, sql))
            if loop is not None and _writes(sql):
                loop.writes.append(sql)
            if loop is not None and "pg_sleep" in sql:
                loop.sleeps = True
            continue  # these three hold expressions, never statements: nothing more to look for inside
        if kind == "PLpgSQL_stmt_perform":
            sql = _query(fields.get("expr"))
            if loop is not None and "pg_sleep" in sql:
                loop.sleeps = True
            continue
        if kind == "PLpgSQL_stmt_dynexecute":
            if maybe:
                facts.conditional_dynamic.add(len(facts.dynamic))
            facts.dynamic.append((lineno, _query(fields.get("query"))))
            continue
        if kind == "PLpgSQL_stmt_return" and conditional:
            facts.may_have_returned = True  # the statements after the branch run only when it was not taken
        if kind in ("PLpgSQL_stmt_commit", "PLpgSQL_stmt_rollback") and not facts.ends_transaction:
            facts.ends_transaction = max(lineno, 1)
        if kind == "PLpgSQL_stmt_commit" and loop is not None:
            loop.commits = True
        inner = conditional or kind in _BRANCHING
        for value in fields.values():
            _collect(value, facts, current, inner)
        if current is not loop and current is not None and loop is not None:
            loop.writes.extend(current.writes)
            loop.sleeps |= current.sleeps
            loop.commits |= current.commits


def _writes(sql: str) -> bool:
    word = _first_word(sql)
    if word in ("UPDATE", "DELETE"):
        return True
    if word == "WITH":
        upper = sql.upper()
        return " UPDATE " in upper or " DELETE " in upper
    return False


def called_routines(kind: str, node: Node) -> Iterator[list[str]]:
    """Names of functions a SELECT calls, or the procedure a CALL runs."""
    if kind == "CallStmt":
        call = unwrap(node.get("funccall"))[1] or node.get("funccall") or {}
        yield strings(call.get("funcname"))
        return
    if kind == "SelectStmt":
        for k, fields in walk(node):
            if k == "FuncCall":
                yield strings(fields.get("funcname"))


_DDL_WORDS = re.compile(r"\b(ALTER|CREATE|DROP|TRUNCATE|RENAME|VACUUM|REINDEX|CLUSTER|GRANT|REVOKE)\b", re.I)


def _line_starts(body: str) -> array[int]:
    """Where each line of a body starts (built once per body by embedded_sql, so locating its statements is
    linear)."""
    starts = array("q", [0])
    starts.extend(m.end() for m in re.finditer("\n", body))
    return starts


def _locate(body: str, text: str, lineno: int, starts: array[int]) -> int | None:
    start = starts[min(max(lineno - 1, 0), len(starts) - 1)]
    found = body.find(text, start)
    if found >= 0:
        return found
    head = text.split(None, 1)[0] if text.strip() else ""
    if head:
        match = re.compile(re.escape(head), re.I).search(body, start)
        if match:
            return match.start()
    return None


def embedded_sql(body: str, facts: BodyFacts, body_offset: int | None) -> Iterator[EmbeddedSql]:
    """SQL statements a PL/pgSQL body runs (constant EXECUTE strings included), located in the file, one
    at a time (a long body's statements are never all held at once)."""
    starts = _line_starts(body)
    for index, (lineno, sql) in enumerate(facts.statements):
        local = _locate(body, sql, lineno, starts)
        offset = body_offset + local if body_offset is not None and local is not None else None
        yield EmbeddedSql(sql, offset, conditional=index in facts.conditional)
    for index, (lineno, expr) in enumerate(facts.dynamic):
        text = _constant_string(expr)
        if text is not None:
            quoted = expr.strip()
            local = _locate(body, quoted, lineno, starts)
            verbatim = "''" not in quoted[1:-1]  # a doubled quote: the SQL is not the file's text at that offset
            offset = body_offset + local + 1 if body_offset is not None and local is not None and verbatim else None
            yield EmbeddedSql(text, offset, dynamic=True, conditional=index in facts.conditional_dynamic)


def opaque_sql(facts: BodyFacts) -> list[tuple[int, str]]:
    """(lineno, expression) of the EXECUTEs that build DDL at run time: schemalint cannot analyse them."""
    return [(lineno, expr) for lineno, expr in facts.dynamic
            if _constant_string(expr) is None and _DDL_WORDS.search(expr)]


def _constant_string(expr: str) -> str | None:
    """The SQL of ``EXECUTE 'constant string'``; None for an expression built at run time."""
    literal = expr.strip()
    if len(literal) >= 2 and literal[0] == "'" and literal[-1] == "'" and "'" not in literal[1:-1].replace("''", ""):
        return literal[1:-1].replace("''", "'")
    return None
