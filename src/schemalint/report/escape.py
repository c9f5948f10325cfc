"""User-derived text (identifiers, file names, SQL in code frames) made safe for a terminal, a CI log and
Markdown: control characters become visible escapes, so a quoted identifier holding a newline cannot start
an output line with ``::set-env`` (a GitHub Actions workflow command), and ESC cannot clear the screen."""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, the Unicode line and paragraph separators, and the bidirectional overrides
# and isolates that reorder what a reader sees.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\n``, ``\\x1b``, ``\\u202e``)."""
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def visible_lines(text: str) -> list[str]:
    """Multi-line text (a recipe, which may quote the user's SQL): split on its own newlines, each line made
    visible, and a line that starts (after its indentation) with ``::`` broken by a zero-width space, so a CI log
    that prints the report never reads it as a workflow command (``::add-mask::``, ``::error::``)."""
    return [_no_command(visible(line)) for line in text.split("\n")]


def _no_command(line: str) -> str:
    body = line.lstrip()
    if not body.startswith("::"):
        return line
    return line[: len(line) - len(body)] + ":\u200b" + body[1:]


def markdown(text: str) -> str:
    """For Markdown and HTML (the job summary, the PR comment): visible, HTML-escaped, table-safe."""
    out = visible(text)
    for char, entity in _HTML.items():
        out = out.replace(char, entity)
    return out.replace("|", "\\|").replace("`", "\\`")
