"""A migration's SQL as PostgreSQL's scanner sees it, comments and whitespace aside: what SL014 compares
(an edit that only touches comments is no edit) and what the cache chains (a comment-only edit of one file
does not invalidate the files after it)."""

from __future__ import annotations

import hashlib
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


def semantic_digest(text: str) -> str:
    """A digest of the forward and rollback SQL, comments and whitespace aside (where the down marker — a
    comment — sits still counts: it decides which statements run forward)."""
    down = find_sections(text).down_start
    forward = tokens(text[:down] if down is not None else text)
    rollback = tokens(text[down:]) if down is not None else []
    digest = hashlib.sha256()
    for _, word in forward:
        digest.update(word.encode("utf-8", "surrogatepass") + b"\0")
    digest.update(b"\1down\1")
    for _, word in rollback:
        digest.update(word.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()
