"""``-- schemalint: ignore …`` directives, read from real comment tokens (never from strings).

* ``-- schemalint: ignore SL102, drop-column`` on the line(s) directly above a statement, or
  trailing on its first line, silences those codes for that statement only.
* ``-- schemalint: ignore-file [CODE …]`` anywhere silences them (or everything) for the file.
* A reason may follow the codes after ``--`` or ``because``.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from schemalint.sql.parse import Statement, scan_comments
from schemalint.sql.text import SourceText

_DIRECTIVE = re.compile(r"schemalint\s*:\s*(?P<action>[A-Za-z-]*)(?P<rest>.*)", re.S)
_REASON = re.compile(r"(\s--|\s#|\bbecause\b|\breason\s*:)", re.I)
ALL = "*"


@dataclass(slots=True)
class Suppressions:
    file_codes: set[str] = field(default_factory=set)  # contains ALL for a bare ignore-file
    statement_codes: dict[int, set[str]] = field(default_factory=dict)
    problems: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, message)

    def silences(self, code: str, statement_index: int | None) -> bool:
        if code == "SL001":
            return False
        if ALL in self.file_codes or code in self.file_codes:
            return True
        if statement_index is None:
            return False
        codes = self.statement_codes.get(statement_index)
        return bool(codes) and (ALL in codes or code in codes)  # type: ignore[operator]


def _comment_body(raw: str) -> str:
    if raw.startswith("--"):
        return raw[2:]
    if raw.startswith("/*"):
        return raw[2:-2] if raw.endswith("*/") else raw[2:]
    return raw


def find_suppressions(
    source: SourceText,
    statements: Sequence[Statement],
    resolve: Callable[[str], str | None],
) -> Suppressions:
    """Read directives. ``resolve`` maps a code or a rule name to its code (None if unknown)."""
    result = Suppressions()
    if "schemalint" not in source.text:
        return result
    starts = [s.start for s in statements]
    for start, end, raw in scan_comments(source.text):
        match = _DIRECTIVE.search(_comment_body(raw))
        if not match:
            continue
        action = match.group("action").lower()
        rest = match.group("rest")
        reason = _REASON.search(rest)
        if reason:
            rest = rest[: reason.start()]
        tokens = [t for t in re.split(r"[\s,]+", rest.strip()) if t]
        if action not in ("ignore", "ignore-file"):
            result.problems.append(
                (start, end, f"malformed directive: expected 'schemalint: ignore CODE' or "
                 f"'schemalint: ignore-file [CODE]', found {action or 'nothing'!r}")
            )
            continue
        codes: set[str] = set()
        bad = False
        for token in tokens:
            code = resolve(token)
            if code is None:
                result.problems.append((start, end, f"unknown rule {token!r} in suppression comment"))
                bad = True
            else:
                codes.add(code)
        if bad and not codes:
            continue  # never let a typo silence everything
        if not tokens:
            codes = {ALL}
        if action == "ignore-file":
            result.file_codes |= codes
            continue
        target = _target_statement(source, statements, starts, start)
        if target is None:
            result.problems.append((start, end, "'schemalint: ignore' is not directly above or on the first line of a statement"))
            continue
        result.statement_codes.setdefault(target, set()).update(codes)
    return result


def _target_statement(
    source: SourceText, statements: Sequence[Statement], starts: list[int], comment_start: int
) -> int | None:
    idx = bisect_left(starts, comment_start)
    # trailing on the first line of the statement that starts before it
    if idx > 0:
        prev = statements[idx - 1]
        if source.position(prev.start)[0] == source.position(comment_start)[0]:
            return idx - 1
        if prev.end > comment_start:
            return None  # inside a statement's body
    if idx < len(statements):
        return idx
    return None
