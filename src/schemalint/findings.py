"""The values every part of schemalint passes around: severities, spans and findings."""

from __future__ import annotations

import enum
from dataclasses import dataclass


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
