"""Reading SQL text where the parse tree has no answer: a default's expression as the user wrote it, the
group after a keyword, a statement squeezed onto one line for a message. Quoted strings and nested
parentheses are skipped, never split."""

from __future__ import annotations

import re
from collections.abc import Callable


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
    """Every run of whitespace as one space."""
    return re.sub(r"\s+", " ", sql).strip()


def one_line(sql: str, limit: int = 200) -> str:
    """``sql`` on one line, cut with an ellipsis past ``limit`` characters (for messages)."""
    text = squeeze(sql)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_top_level(text: str) -> list[str]:
    """``text`` split on its top-level commas (not those inside parentheses or strings), each squeezed."""
    out: list[str] = []
    start = 0
    while start < len(text):
        end = scan_sql(text, start, len(text), lambda i: text[i] == ",")
        piece = squeeze(text[start:end])
        if piece:
            out.append(piece)
        start = end + 1
    return out


def add_keyword_after(sql: str, pattern: str, keyword: str) -> str:
    """Insert ``keyword`` after the first match of ``pattern`` (case-insensitive) in ``sql``."""
    return re.sub(pattern, lambda m: f"{m.group(0)} {keyword}", sql, count=1, flags=re.I)


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
