"""Positions in a source text: character offsets, byte offsets, lines and columns."""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right

from schemalint.findings import Span

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class SourceText:
    """A decoded file. pglast's JSON output counts bytes (UTF-8); users count characters."""

    __slots__ = ("_extra", "_line_starts", "_na_bytes", "_na_chars", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._line_starts: array[int] | None = None
        self._na_chars: array[int] = array("q")
        self._na_bytes: array[int] = array("q")
        self._extra: array[int] = array("q")  # cumulative extra bytes up to and including each char
        if not text.isascii():
            extra = 0
            for match in _NON_ASCII.finditer(text):
                pos = match.start()
                self._na_chars.append(pos)
                self._na_bytes.append(pos + extra)
                extra += len(match.group().encode("utf-8")) - 1
                self._extra.append(extra)

    def byte_of_char(self, char_offset: int) -> int:
        if not self._na_chars:
            return char_offset
        idx = bisect_left(self._na_chars, char_offset)
        return char_offset + (self._extra[idx - 1] if idx else 0)

    def char_of_byte(self, byte_offset: int) -> int:
        if not self._na_bytes:
            return byte_offset
        idx = bisect_left(self._na_bytes, byte_offset)
        return byte_offset - (self._extra[idx - 1] if idx else 0)

    @property
    def line_starts(self) -> array[int]:
        if self._line_starts is None:
            # a compact array: 8 bytes a line instead of a Python int object each (large files)
            # lines end at \n, \r\n or \r only, as PostgreSQL and editors count them (a form feed or
            # U+2028 inside a file is not a line break)
            starts = array("q", [0])
            if "\r" in self.text:
                starts.extend(m.end() for m in _LINE_BREAK.finditer(self.text))
            else:
                starts.extend(m.end() for m in re.finditer("\n", self.text))
            self._line_starts = starts
        return self._line_starts

    def position(self, char_offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        starts = self.line_starts
        line_idx = bisect_right(starts, char_offset) - 1
        return line_idx + 1, char_offset - starts[line_idx] + 1

    def span(self, start: int, end: int) -> Span:
        """Span from ``start`` (inclusive) to ``end`` (exclusive) character offsets."""
        line, column = self.position(start)
        last = max(start, end - 1)
        end_line, end_column = self.position(last)
        return Span(line, column, end_line, end_column)

    def line_text(self, line: int) -> str:
        starts = self.line_starts
        begin = starts[line - 1]
        finish = starts[line] - 1 if line < len(starts) else len(self.text)
        return self.text[begin:finish].rstrip("\r")
