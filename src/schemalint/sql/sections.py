"""Forward (up) and rollback (down) parts of one migration file.

Recognised layouts: dbmate (``-- migrate:up`` / ``-- migrate:down``), goose (``-- +goose Up`` /
``-- +goose Down``) and the house guide's ``DOWN MIGRATION (ROLLBACK)`` section, whose SQL sits in a
``/* … */`` block comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DOWN_MARKERS = (
    ("dbmate", re.compile(r"(?mi)^[ \t]*--[ \t]*migrate:down\b")),
    ("goose", re.compile(r"(?mi)^[ \t]*--[ \t]*\+goose[ \t]+down\b")),
    ("guide", re.compile(r"(?mi)^[ \t]*--[ \t]*DOWN[ \t]+MIGRATION\b")),
)
_BLOCK_COMMENT = re.compile(r"/\*(.*?)\*/", re.S)


@dataclass(frozen=True, slots=True)
class Sections:
    style: str | None  # which layout marked the rollback, if any
    down_start: int | None  # character offset where the rollback section begins
    rollback_sql: str | None  # the rollback SQL kept in a /* … */ comment (the guide's layout), else None
    rollback_offset: int | None  # where ``rollback_sql`` starts in the file


_DOWN_WORD = re.compile("down", re.I)


def find_sections(text: str) -> Sections:
    if not _DOWN_WORD.search(text):
        return Sections(None, None, None, None)
    for style, pattern in _DOWN_MARKERS:
        match = pattern.search(text)
        if not match:
            continue
        if style == "guide":
            line_end = text.find("\n", match.end())
            after = len(text) if line_end < 0 else line_end + 1
            block = _BLOCK_COMMENT.search(text, after)
            if block:
                return Sections(style, match.start(), block.group(1), block.start(1))
            return Sections(style, match.start(), None, after)
        # dbmate/goose: the rollback is the statements after the marker (no copy of the text is kept)
        return Sections(style, match.start(), None, match.end())
    return Sections(None, None, None, None)
