"""Turning SQL text into statements with exact spans. The only module that calls pglast's parser.

pglast's JSON output (``parse_sql_json``) gives plain dicts, which is several times faster than
building pglast's AST objects; node locations in it are UTF-8 byte offsets, which
:class:`~schemalint.sql.text.SourceText` maps back to characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from pglast import parser as _pg

from schemalint.findings import Span
from schemalint.sql.bounded import decode, decode_bounded
from schemalint.sql.isolated import parse_sql_json
from schemalint.sql.text import SourceText

Node = dict[str, Any]

# psql meta-commands (\set, \i, \connect …) are client-side and never reach the server.
_META_COMMAND = re.compile(r"(?m)^[ \t]*\\[^\n]*")
_TEMPLATE_MARK = re.compile(r"\{\{|\{%|\$\{")


@dataclass(slots=True)
class Statement:
    """One top-level SQL statement: its node kind, the node's fields and where it is.

    For very large files the tree is not kept: ``node`` parses the statement's text again when asked,
    and the engine releases it once every rule has seen the statement (see :func:`parse`)."""

    kind: str
    raw: Node | None
    start: int  # character offset of the first token
    end: int  # character offset just past the last character (the ';' excluded)
    byte_base: int  # byte offset of the text pglast saw; node locations are relative to it
    source: SourceText
    section: str = "up"  # "up" (runs forward) or "down" (rollback)
    memo: dict[str, Any] | None = None  # per-statement facts several rules share (see facts())
    lazy: bool = False  # the tree may be released and parsed again (large files)
    number: int = 0  # position among the file's statements (set by the engine)
    released: bool = False  # judged, tree dropped: later looks parse it again without keeping it
    conditional: bool = False  # run by a PL/pgSQL branch, loop or handler: it may not run at all

    @property
    def text(self) -> str:
        return self.source.text[self.start : self.end]

    @property
    def node(self) -> Node:
        if self.raw is not None:
            return self.raw
        node = self._reparse()
        if not self.released:
            self.raw = node  # kept until the engine is done with the statement
        return node

    def _reparse(self) -> Node:
        try:
            payload = decode_bounded(parse_sql_json(self.text))
        except (_pg.ParseError, ValueError, RecursionError):
            return {}
        # node locations are now relative to the statement's own text
        self.byte_base = self.source.byte_of_char(self.start)
        for raw in payload.get("stmts", ()):
            for kind, node in (raw.get("stmt") or {}).items():
                if kind == self.kind and isinstance(node, dict):
                    return node
        return {}

    def release(self) -> None:
        """Drop the tree (it is parsed again if a later rule asks): keeps memory flat on huge files."""
        if self.lazy:
            self.raw = None
            self.memo = None
            self.released = True

    def facts(self) -> dict[str, Any]:
        if self.released:
            return {}  # nothing is kept for a statement already judged in a huge file
        if self.memo is None:
            self.memo = {}
        return self.memo

    @property
    def span(self) -> Span:
        return self.source.span(self.start, self.end)

    def offset_of(self, location: int | None) -> int:
        """File character offset of a node ``location`` (a byte offset), or the statement start."""
        if location is None or location < 0:
            return self.start
        return self.source.char_of_byte(self.byte_base + location)


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    message: str
    offset: int  # character offset in the file


@dataclass(slots=True)
class ParsedSql:
    source: SourceText
    statements: list[Statement] = field(default_factory=list)
    errors: list[SyntaxProblem] = field(default_factory=list)
    # What statements that failed to parse still tell the schema model: ``CREATE TABLE name`` (a stray comma
    # in the column list), ``CREATE INDEX name ON table``, ``CREATE VIEW name``. Never judged by rules.
    recovered: list[Statement] = field(default_factory=list)
    holding: bool = False  # a huge statement's tree is kept from parsing to judging (see _parse_region)
    template: SyntaxProblem | None = None  # the first template placeholder of a file that does not parse


_COPY_DATA = re.compile(r"(?im)^[ \t]*COPY\b[^;]*?\bFROM\s+STDIN\b[^;]*;[^\n]*\n(?P<data>.*?)^\\\.[ \t]*$", re.S)


def blank_meta_commands(text: str) -> str:
    """Replace psql meta-command lines, and the data rows after COPY … FROM stdin up to the ``\\.``
    line (psql sends them, they are not SQL), with spaces, keeping every offset where it was."""
    if "\\" not in text:
        return text
    if "stdin" in text.lower():
        text = _COPY_DATA.sub(lambda m: m.group()[: m.start("data") - m.start()]
                              + _blank(m.group("data")) + m.group()[m.end("data") - m.start():], text)
    return _META_COMMAND.sub(lambda m: " " * len(m.group()), text)


def _blank(part: str) -> str:
    return re.sub(r"[^\n]", " ", part)


def blank_outside(text: str, start: int, end: int) -> str:
    """``text`` with everything but ``text[start:end]`` turned into spaces (newlines kept): SQL kept in a
    comment can then be parsed in place, its errors at their real lines."""
    return _blank(text[:start]) + text[start:end] + _blank(text[end:])


LARGE_FILE = 2_000_000  # characters; above this, parse in chunks and keep no trees (flat memory)
CHUNK = 256_000
HOLD_STATEMENT = 4_000_000  # characters: a statement this long keeps its tree until judged (one per file)


def parse(text: str, source: SourceText | None = None) -> ParsedSql:
    """Parse a whole file. On a syntax error, every other statement is still returned."""
    source = source or SourceText(text)
    cleaned = blank_meta_commands(text)
    result = ParsedSql(source)
    if len(cleaned) > LARGE_FILE:
        _parse_in_chunks(cleaned, source, result)
        return result
    if not _parse_region(cleaned, 0, len(cleaned), source, result, keep=True):
        _recover(cleaned, source, result)
        result.template = template_placeholder(cleaned)
    return result


_PLACEHOLDER_OPEN = {("{", "{"): "}}", ("{", "%"): "%}", ("$", "{"): "}"}


def template_placeholder(text: str) -> SyntaxProblem | None:
    """The first template placeholder (``{{ … }}``, ``{% … %}``, ``${…}``) outside strings, comments and dollar
    quotes (inside a quoted identifier it counts: ``"{{ .Schema }}".users``), found with PostgreSQL's scanner;
    None when there is none."""
    if not _TEMPLATE_MARK.search(text):
        return None
    tokens, _ = _scan(text)
    for first, second in pairwise([*tokens, None]):
        at: int | None = None
        if text[first.start] == '"':  # a quoted identifier: a placeholder anywhere inside it
            found = _TEMPLATE_MARK.search(text, first.start, first.end + 1)
            at = found.start() if found is not None else None
        elif second is not None and second.start == first.start + 1 and first.end == first.start \
                and (text[first.start], text[second.start]) in _PLACEHOLDER_OPEN:
            at = first.start
        if at is None:
            continue
        closing = _PLACEHOLDER_OPEN[(text[at], text[at + 1])]
        end = text.find(closing, at + 2)
        shown = text[at : end + len(closing)] if 0 <= end - at < 200 else text[at : at + 40] + "…"
        return SyntaxProblem(f"this file is a template: {' '.join(shown.split())} is not SQL; render the template "
                             f"before linting it (each statement of a template is not reported again)", at)
    return None


def _parse_region(text: str, start: int, end: int, source: SourceText, out: ParsedSql, keep: bool) -> bool:
    """Parse ``text[start:end]``; False (and nothing added) when it does not parse as a whole."""
    region = text if (start == 0 and end == len(text)) else text[start:end]
    try:
        payload = parse_sql_json(region)
    except _pg.ParseError:
        return False
    before = len(out.statements)
    _collect(decode_bounded(payload), start, end, source, out.statements)
    if not keep:
        added = out.statements[before:]
        # a chunk that is one huge statement (a 10 MB INSERT): its tree is kept until the engine has judged
        # it, so it is not parsed a second time; once per file, so several such statements never add up
        hold = len(added) == 1 and end - start >= HOLD_STATEMENT and not out.holding
        out.holding |= hold
        for stmt in added:
            if not hold:
                stmt.raw = None
            stmt.lazy = True
    return True


def _parse_in_chunks(text: str, source: SourceText, out: ParsedSql) -> None:
    """Cut at ';' + newline about every CHUNK characters. A chunk that does not parse is scanned: if the
    scanner ends inside a string, comment or dollar-quoted body, the cut was bad and the chunk grows to
    a later cut (by twice as much each time: a 10 MB DO block is scanned a few times, not once per
    CHUNK); otherwise the chunk holds a real syntax error and is recovered statement by statement."""
    position = 0
    length = len(text)
    while position < length:
        end = next_cut(text, position + CHUNK)
        growth = CHUNK
        while not _parse_region(text, position, end, source, out, keep=False):
            if end < length and not _lexically_complete(text[position:end]):
                growth *= 2
                end = next_cut(text, end + growth)
                continue
            recovered = ParsedSql(source)
            _recover(text[position:end], SourceText(text[position:end]), recovered)
            _rehome(recovered, position, source, out)
            break
        position = end


def _lexically_complete(chunk: str) -> bool:
    try:
        _pg.split(chunk, with_parser=False, only_slices=True)  # the scanner, without a token list
    except _pg.ParseError:
        return False
    return True


def next_cut(text: str, at: int) -> int:
    """Just past the first ';' + newline at or after ``at`` (the end of the text when there is none): where a
    long text can be cut between statements, if the cut is not inside a string or a body (the parse says)."""
    if at >= len(text):
        return len(text)
    cut = text.find(";\n", at)
    return len(text) if cut < 0 else cut + 2


def keyword_end(text: str, keyword: str) -> int | None:
    """Just past the first ``keyword`` token (a scanner token name such as ``BEGIN_P``) of ``text``: never one
    inside a string or a comment. None when the scanner finds none before the text ends or stops."""
    tokens, _ = _scan(text)
    for token in tokens:
        if token.name == keyword:
            return int(token.end) + 1
    return None


def _rehome(local: ParsedSql, offset: int, source: SourceText, out: ParsedSql) -> None:
    """Move statements and errors parsed from a slice starting at ``offset`` into the file's coordinates."""
    for stmt in local.statements:
        stmt.start += offset
        stmt.end += offset
        stmt.source = source
        stmt.raw = None
        stmt.lazy = True
        out.statements.append(stmt)
    out.errors.extend(SyntaxProblem(e.message, e.offset + offset) for e in local.errors)
    for stmt in local.recovered:
        stmt.start += offset
        stmt.end += offset
        stmt.source = source
        out.recovered.append(stmt)


def _collect(payload: Node, chunk_start: int, chunk_end: int, source: SourceText, out: list[Statement]) -> None:
    base = source.byte_of_char(chunk_start)
    text = source.text
    for raw in payload.get("stmts", ()):
        stmt = raw.get("stmt")
        if not stmt:
            continue
        ((kind, node),) = stmt.items()
        loc = raw.get("stmt_location", 0)
        start = source.char_of_byte(base + loc)
        length = raw.get("stmt_len")
        end = source.char_of_byte(base + loc + length) if length else chunk_end
        while end > start and text[end - 1] in " \t\r\n;":
            end -= 1
        out.append(Statement(kind, node, start, end, base, source))


def _error_message(message: str, statement_text: str) -> str:
    """PostgreSQL's message, plus a hint when the failing statement holds a template placeholder."""
    if _TEMPLATE_MARK.search(statement_text):
        return f"{message} (this statement contains a template placeholder: render the template before linting)"
    return message


def _scan(text: str) -> tuple[list[Any], SyntaxProblem | None]:
    """The scanner's tokens; when it stops (an unterminated string, comment or body), the tokens before
    that point and the scanner's error."""
    try:
        return list(_pg.scan(text)), None
    except _pg.ParseError as exc:
        message, at = _error_args(exc)
        offset = len(text) if at is None else at
        try:
            return list(_pg.scan(text[:offset])), SyntaxProblem(message, offset)
        except _pg.ParseError:
            return [], SyntaxProblem(message, offset)


def _split(text: str) -> tuple[list[tuple[int, int]], SyntaxProblem | None]:
    """Character ranges of the statements, cut at top-level semicolons by PostgreSQL's scanner (in C: no
    token list is built, so a 10 MB statement costs no more memory than its text), leading comments
    skipped; when the scanner stops (an unterminated string, comment or body), the statements before that
    point and the scanner's error."""
    slices: list[slice]
    try:
        slices, tail = list(_pg.split(text, with_parser=False, only_slices=True)), None
    except _pg.ParseError as exc:
        message, at = _error_args(exc)
        limit = len(text) if at is None else at
        try:
            slices = list(_pg.split(text[:limit], with_parser=False, only_slices=True))
        except _pg.ParseError:
            slices = []
        if slices and ";" not in text[slices[-1].stop : limit]:
            slices.pop()  # the statement the scanner choked on: reported once, as the tail error
        tail = SyntaxProblem(message, limit)
    # the scanner's split passes over text that does not start like a statement (``SELEC 1;``): those gaps
    # are statements too (they fail to parse and are reported), never dropped in silence
    limit = tail.offset if tail is not None else len(text)
    ranges: list[tuple[int, int]] = []
    position = 0
    for piece in [*slices, slice(limit, limit)]:
        gap_start = _after_comments(text, position, piece.start)
        gap = text[gap_start : piece.start].rstrip().rstrip(";").rstrip()
        if gap and (piece.start < limit or tail is None or ";" in text[gap_start:limit]):
            ranges.append((gap_start, gap_start + len(gap)))
        if piece.start < piece.stop:
            ranges.append((_after_comments(text, piece.start, piece.stop), piece.stop))
        position = piece.stop
    return ranges, tail


def _after_comments(text: str, start: int, end: int) -> int:
    """The first character of ``text[start:end]`` that is not white space, a comment or a semicolon."""
    i = start
    while i < end:
        if text[i].isspace() or text[i] == ";":
            i += 1
        elif text.startswith("--", i):
            newline = text.find("\n", i, end)
            i = end if newline < 0 else newline + 1
        elif text.startswith("/*", i):
            depth, i = 1, i + 2  # PostgreSQL's block comments nest
            while i < end and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        else:
            return i
    return i


def _recover(text: str, source: SourceText, out: ParsedSql) -> None:
    """Split at top-level semicolons with the scanner and parse statement by statement."""
    ranges, tail_error = _split(text)
    scan_limit = tail_error.offset if tail_error is not None else len(text)
    for start, end in ranges:
        if tail_error is not None and end >= scan_limit:
            break  # the statement the scanner choked on: reported once, below
        chunk = text[start:end]
        try:
            payload = parse_sql_json(chunk)
        except _pg.ParseError as exc:
            message, offset = _error_args(exc)
            if offset is None:
                # "at end of input" carries no location: it is where the statement's text ends
                offset = len(chunk.rstrip())
            offset = min(start + offset, end)
            out.errors.append(SyntaxProblem(_error_message(message, chunk), offset))
            head = _readable_head(chunk, start, end, source)
            if head is not None:
                out.recovered.append(head)
        else:
            _collect(decode_bounded(payload), start, end, source, out.statements)
    if tail_error is not None:
        line_start = text.rfind("\n", 0, tail_error.offset) + 1
        out.errors.append(SyntaxProblem(
            _error_message(tail_error.message, text[line_start : tail_error.offset + 40]), tail_error.offset))


_NOISE_TOKENS = ("SQL_COMMENT", "C_COMMENT")
_HEAD_CHARS = 4096
_TABLE_PREFIXES = {"OR", "REPLACE", "TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL"}


def _qualified_name(words: list[tuple[str, str]], i: int) -> tuple[str | None, int]:
    """A possibly qualified name (``s.t``, ``"T"``) starting at token ``i``: its text and the next index."""
    def is_name(j: int) -> bool:
        return j < len(words) and not words[j][0].startswith("ASCII_")

    if not is_name(i):
        return None, i
    parts = [words[i][1]]
    i += 1
    while i + 1 < len(words) and words[i][0] == "ASCII_46" and is_name(i + 1):
        parts.append(words[i + 1][1])
        i += 2
    return ".".join(parts), i


def _readable_head(chunk: str, start: int, end: int, source: SourceText) -> Statement | None:
    """For a statement that does not parse, the object its readable head creates, as a statement the
    schema model can take in (the catalogue: a syntax error must not turn later statements on a new table
    into false alarms)."""
    head = chunk[:_HEAD_CHARS]  # the head is all that is read: a 10 MB statement is not scanned whole
    try:
        tokens = [t for t in _pg.scan(head) if t.name not in _NOISE_TOKENS]
    except _pg.ParseError:
        return None
    words = [(t.name, head[t.start : t.end + 1]) for t in tokens]
    upper = [text.upper() for _, text in words]
    if not upper or upper[0] != "CREATE":
        return None
    i = 1
    while i < len(upper) and upper[i] in _TABLE_PREFIXES:
        i += 1
    unique = i < len(upper) and upper[i] == "UNIQUE"
    i += 1 if unique else 0
    kind = upper[i] if i < len(upper) else ""
    if kind == "MATERIALIZED" and i + 1 < len(upper) and upper[i + 1] == "VIEW":
        kind, i = "MATERIALIZED VIEW", i + 1
    i += 1
    if upper[i : i + 3] == ["IF", "NOT", "EXISTS"]:
        i += 3
    synthetic: str | None = None
    if kind in ("TABLE", "VIEW", "MATERIALIZED VIEW") and not unique:
        name, i = _qualified_name(words, i)
        if name is not None:
            synthetic = f"CREATE TABLE {name} ()" if kind == "TABLE" else f"CREATE {kind} {name} AS SELECT 1"
    elif kind == "INDEX":
        if i < len(upper) and upper[i] == "CONCURRENTLY":
            i += 1
        if upper[i : i + 3] == ["IF", "NOT", "EXISTS"]:
            i += 3
        index_name = None
        if i < len(upper) and upper[i] != "ON":
            index_name, i = _qualified_name(words, i)
        if i < len(upper) and upper[i] == "ON":
            i += 1
            if i < len(upper) and upper[i] == "ONLY":
                i += 1
            table, i = _qualified_name(words, i)
            if table is not None:
                synthetic = f"CREATE {'UNIQUE ' if unique else ''}INDEX {index_name or ''} ON {table} ((NULL))"
    if synthetic is None:
        return None
    try:
        payload = decode(_pg.parse_sql_json(synthetic))
    except _pg.ParseError:
        return None
    ((kind_name, node),) = payload["stmts"][0]["stmt"].items()
    return Statement(kind_name, node, start, end, source.byte_of_char(start), source)


def _error_args(exc: Exception) -> tuple[str, int | None]:
    """PostgreSQL's message and the character offset it names (None when it names none)."""
    args = exc.args
    message = str(args[0]) if args else str(exc)
    offset = int(args[1]) if len(args) > 1 and isinstance(args[1], int) else None
    return message, None if offset is None else max(offset, 0)


def scan_comments(text: str) -> list[tuple[int, int, str]]:
    """(start, end, text) of every comment token; strings that look like comments are not included."""
    cleaned = blank_meta_commands(text)
    tokens, _ = _scan(cleaned)
    return [
        (t.start, t.end + 1, cleaned[t.start : t.end + 1])
        for t in tokens
        if t.name in ("SQL_COMMENT", "C_COMMENT")
    ]


def identifier_tokens(text: str) -> Iterator[tuple[int, str]]:
    """(offset, name as PostgreSQL folds it, before its lexer truncates it) of every identifier token."""
    try:
        tokens = _pg.scan(text)
    except _pg.ParseError:
        return
    for token in tokens:
        if token.name != "IDENT" and token.kind == "NO_KEYWORD":
            continue
        raw = text[token.start : token.end + 1]
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            yield token.start, raw[1:-1].replace('""', '"')
        elif token.name == "IDENT":
            yield token.start, raw.lower()


def parse_plpgsql(function_sql: str) -> list[Node]:
    """PL/pgSQL function trees for a CREATE FUNCTION/DO text (pglast's PL/pgSQL parser)."""
    result: list[Node] = decode(_pg.parse_plpgsql_json(function_sql))
    return result


def parse_embedded(snippet: str, offset: int, source: SourceText) -> list[Statement]:
    """Statements of SQL that sits verbatim at character ``offset`` of ``source`` (a PL/pgSQL body's
    statement, an EXECUTE'd string). Raises ParseError when it does not parse."""
    statements: list[Statement] = []
    _collect(decode_bounded(parse_sql_json(snippet)), offset, offset + len(snippet), source, statements)
    return statements


ParseError = _pg.ParseError
