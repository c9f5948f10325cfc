"""A migration's SQL as PostgreSQL's scanner sees it, comments and whitespace aside: what SL014 compares
(an edit that only touches comments is no edit)."""

from __future__ import annotations

import re

from pglast import parser as pg_parser

from schemalint.sql.sections import find_sections

_COMMENTS = frozenset(("SQL_COMMENT", "C_COMMENT"))


def tokens(sql: str) -> list[tuple[int, str]]:
    """(offset, token) pairs; keywords and unquoted identifiers folded to lower case (PostgreSQL reads
    ``CREATE`` and ``create`` alike)."""
    try:
        scanned = pg_parser.scan(sql)
    except pg_parser.ParseError:
        # not scannable (an unterminated quote): the words between comment markers instead
        stripped = re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.S)
        return [(m.start(), m.group()) for m in re.finditer(r"\S+", stripped)]
    out = []
    for token in scanned:
        if token.name in _COMMENTS:
            continue
        word = sql[token.start : token.end + 1]
        if token.kind != "NO_KEYWORD" or (token.name == "IDENT" and not word.startswith('"')):
            word = word.lower()
        out.append((token.start, word))
    return out


def forward_tokens(text: str) -> list[tuple[int, str]]:
    """The tokens of the forward part of a migration (before its down marker, if any)."""
    down = find_sections(text).down_start
    return tokens(text[:down] if down is not None else text)
