"""PostgreSQL's time settings read as PostgreSQL reads them (``SET lock_timeout = '5s'``, ``= 5000``)."""

from __future__ import annotations

import re

# PG's time units for GUCs (guc.c: "us", "ms", "s", "min", "h", "d"); a bare number is the setting's own
# unit, milliseconds for lock_timeout and statement_timeout.
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "min": 60_000.0, "h": 3_600_000.0, "d": 86_400_000.0}
_GUC_DURATION = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(us|ms|s|min|h|d)?\s*")


def guc_milliseconds(value: object) -> float | None:
    """``'5s'`` → 5000, ``5000`` → 5000, ``'1min'`` → 60000; None when PostgreSQL would not accept it."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    match = _GUC_DURATION.fullmatch(str(value))
    if match is None:
        return None
    return float(match.group(1)) * _UNITS_MS[match.group(2) or "ms"]


def spoken(milliseconds: float) -> str:
    """5000 → "5s", 90000 → "90s", 600000 → "10min", 250 → "250ms"; 0 → "0 (no limit)"."""
    if milliseconds == 0:
        return "0 (no limit)"
    if milliseconds < 1000 or milliseconds % 1000:
        return f"{milliseconds:g}ms"
    seconds = milliseconds / 1000
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}min"
    return f"{seconds:g}s"
