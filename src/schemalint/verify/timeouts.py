"""Time limits a migration cannot lift: the client cancels the query itself when a limit is reached, so a
migration's own ``SET statement_timeout = 0`` changes nothing."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

_UNITS = {"ms": 0.001, "s": 1.0, "": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h)?\s*")


def parse_duration(text: str) -> float:
    """``500ms``, ``60s``, ``60``, ``10m``, ``10min``, ``1h`` → seconds; ValueError for anything else."""
    match = _DURATION.fullmatch(text)
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r}: use a positive number with ms, s, m (or min) or h, e.g. 60s or 10m")
    return float(match.group(1)) * _UNITS[match.group(2) or ""]


def describe(seconds: float) -> str:
    """Seconds back in the user's words: 60s, 10m, 1.5s, 500ms."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"


@dataclass(slots=True)
class Limits:
    """The per-statement limit and the deadline of the whole run (``time.monotonic`` seconds)."""

    statement: float
    run_deadline: float | None = None
    run_limit: float | None = None

    @classmethod
    def start(cls, statement: float, run: float | None) -> Limits:
        return cls(statement, None if run is None else time.monotonic() + run, run)

    def run_expired(self) -> bool:
        return self.run_deadline is not None and time.monotonic() >= self.run_deadline


@dataclass(slots=True)
class Watch:
    """What happened to one guarded statement: which limit, if any, cancelled it."""

    cancelled_by: str | None = None  # "statement" or "run"


@contextmanager
def guarded(conn: Any, limits: Limits) -> Iterator[Watch]:
    """Cancel the connection's running query (psycopg's ``cancel_safe``) once the statement limit or the
    run's deadline is reached. The caller reads ``watch.cancelled_by`` after the query returned or failed."""
    watch = Watch()
    wait, reason = limits.statement, "statement"
    if limits.run_deadline is not None:
        remaining = max(0.0, limits.run_deadline - time.monotonic())
        if remaining < wait:
            wait, reason = remaining, "run"

    def cancel() -> None:
        watch.cancelled_by = reason
        with contextlib.suppress(Exception):  # the query ended just now, or the server is gone
            conn.cancel_safe(timeout=10.0)

    timer = threading.Timer(wait, cancel)
    timer.daemon = True
    timer.start()
    try:
        yield watch
    finally:
        timer.cancel()
        timer.join(timeout=15.0)


__all__ = ["Limits", "Watch", "describe", "guarded", "parse_duration"]
