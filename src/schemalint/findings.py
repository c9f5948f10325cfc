"""The values every part of schemalint passes around: severities, spans and findings."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from itertools import pairwise


class Severity(enum.IntEnum):
    WARNING = 1
    ERROR = 2

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (use 'error' or 'warning')") from None


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a file. Lines and columns are 1-based and count characters;
    ``end_column`` is inclusive (the column of the last character)."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True, slots=True)
class Edit:
    """A safe, mechanical change that fixes a finding: replace ``[start, end)`` (character offsets in the
    file) with ``replacement``. Applied only with ``check --fix``."""

    start: int
    end: int
    replacement: str
    safe: bool = True  # False: it moves statements out of a transaction, splits one into several transactions
    # or changes when a constraint is checked (applied only with --unsafe-fixes)


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    name: str
    severity: Severity
    file: str
    span: Span
    message: str
    help: str = ""
    fix: Edit | None = None
    origin: str | None = None  # a framework source: the operation that emitted the statement ("Add field …")
    sql: str | None = None  # … and the SQL it rendered

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.span.line, self.span.column, self.code)


@dataclass(frozen=True, slots=True)
class Hit:
    """What a rule returns: the engine stamps the rule's code, name and severity on it."""

    message: str
    help: str = ""
    location: int | None = None  # character offset in the file where the problem starts
    fix: Edit | None = None
    end: int | None = None  # where it ends (e.g. the end of one column definition); default: the statement's
    subject: str | None = None  # what it is about ("accounts.region"), named when a statement has several


def listing(items: list[str], limit: int = 8) -> str:
    """"a, b and c", with "and 4 more" past ``limit``."""
    if len(items) > limit:
        return ", ".join(items[:limit]) + f" and {len(items) - limit} more"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def merge_hits(hits: list[Hit], text: str) -> Hit:
    """One finding per statement and rule (the catalogue's convention): the hits a rule raised on one statement
    as one, at the first of them, naming the others; the recipes' lines once each, and the fixes as one edit."""
    ordered = sorted(hits, key=lambda h: -1 if h.location is None else h.location)
    first, rest = ordered[0], ordered[1:]
    subjects = list(dict.fromkeys(h.subject for h in rest if h.subject and h.subject != first.subject))
    if len(subjects) == len(rest):
        message = f"{first.message}; the same for {listing(subjects)}"
    else:
        message = f"{first.message}; the same for {len(rest)} more in this statement"
    lines: list[str] = []
    for hit in ordered:
        lines.extend(line for line in hit.help.splitlines() if not line.strip() or line not in lines)
    help_text = "\n".join(lines)
    return Hit(message, help_text, first.location, _merged_edit([h.fix for h in ordered], text), first.end,
               first.subject)


def merge_findings(findings: list[Finding], text: str) -> Finding:
    """One finding per statement and rule, when a rule spoke more than once about one statement from different
    places (a DO block, and a statement the block runs): the first, with what the others add."""
    ordered = sorted(findings, key=Finding.sort_key)
    first = ordered[0]
    extra = [f.message for f in ordered[1:] if f.message != first.message]
    message = first.message + "".join(f"; also: {m}" for m in dict.fromkeys(extra))
    lines: list[str] = []
    for finding in ordered:
        lines.extend(line for line in finding.help.splitlines() if not line.strip() or line not in lines)
    fix = _merged_edit([f.fix for f in ordered], text)
    return Finding(first.code, first.name, first.severity, first.file, first.span, message, "\n".join(lines), fix)


def _merged_edit(edits: list[Edit | None], text: str) -> Edit | None:
    """Several edits of one statement as one (they must not overlap): the text between the first and the last
    with each applied."""
    present = sorted((e for e in edits if e is not None), key=lambda e: e.start)
    if not present:
        return None
    if any(a.end > b.start for a, b in pairwise(present)):
        return present[0]  # overlapping: the first now, the rest on --fix's next round
    start, end = present[0].start, present[-1].end
    pieces, at = [], start
    for edit in present:
        pieces.append(text[at:edit.start] + edit.replacement)
        at = edit.end
    return Edit(start, end, "".join(pieces), all(e.safe for e in present))
