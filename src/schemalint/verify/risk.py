"""A risk level per statement and per file, from what the server showed: the strongest lock on an existing
relation, what it blocks, whether the statement rewrote or scanned while holding it, and how many rows the table
had. The guide's ``Risk Assessment`` header is set beside it (a header lower than what was measured is said in the
summary).

- none: no lock on an existing relation that blocks anything but other schema changes;
- low: SHARE UPDATE EXCLUSIVE or weaker (reads and writes go on), or a brief stronger lock (no scan, no rewrite);
- medium: writes blocked (SHARE, SHARE ROW EXCLUSIVE, EXCLUSIVE) while the table is scanned or rewritten;
- high: every read and write blocked (ACCESS EXCLUSIVE) while the table is scanned or rewritten;
- critical: high, on a table of a million rows or more."""

from __future__ import annotations

from typing import Any

from schemalint.model.locks import LockMode
from schemalint.verify import observe

LEVELS = ("none", "low", "medium", "high", "critical")
LARGE = 1_000_000


def statement_risk(seen: observe.Observation | None) -> str:
    if seen is None or not seen.locks:
        return "none"
    _, strongest = seen.strongest or ("", LockMode.ACCESS_SHARE)
    if strongest <= LockMode.SHARE_UPDATE_EXCLUSIVE:
        return "low" if strongest == LockMode.SHARE_UPDATE_EXCLUSIVE else "none"
    heavy = bool(seen.rewritten or seen.scanned)
    if not heavy:
        return "low"
    if strongest < LockMode.ACCESS_EXCLUSIVE:
        return "medium"
    rows = max(seen.rows_before.values(), default=0)
    return "critical" if rows >= LARGE else "high"


def file_risk(rows: list[Any]) -> str:
    return max((statement_risk(row.observation) for row in rows), key=LEVELS.index, default="none")


def header_note(file: str, declared: str | None, measured: str) -> str | None:
    """A note when the file's ``Risk Assessment`` says less than what was measured."""
    if not declared:
        return None
    said = declared.strip().split()[0].lower().rstrip(".,:;") if declared.strip() else ""
    if said not in LEVELS or LEVELS.index(said) >= LEVELS.index(measured):
        return None
    return (f"{file}: its Risk Assessment says {declared.strip()!r}; verify measured {measured} (the strongest lock, "
            f"what it blocked and for how long, on the rows used)")
