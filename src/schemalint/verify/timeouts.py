"""Time limits a migration cannot lift: the client cancels the query itself when a limit is reached, so a
migration's own ``SET statement_timeout = 0`` changes nothing."""

from __future__ import annotations

import contextlib
import os
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
    """The per-statement limit, the deadline of the whole run (``time.monotonic`` seconds), and the most disk the
    throwaway cluster may take (its folder, watched while each statement runs)."""

    statement: float
    run_deadline: float | None = None
    run_limit: float | None = None
    cluster: str | None = None  # the throwaway cluster's folder (None for --dsn: not ours to measure)
    max_cluster_bytes: int | None = None

    @classmethod
    def start(cls, statement: float, run: float | None, cluster: str | None = None,
              max_cluster_bytes: int | None = None) -> Limits:
        return cls(statement, None if run is None else time.monotonic() + run, run, cluster, max_cluster_bytes)

    def run_expired(self) -> bool:
        return self.run_deadline is not None and time.monotonic() >= self.run_deadline


@dataclass(slots=True)
class Watch:
    """What happened to one guarded statement: which limit, if any, cancelled it."""

    cancelled_by: str | None = None  # "statement", "run" or "size"


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

    def cancel(why: str) -> None:
        if watch.cancelled_by is None:
            watch.cancelled_by = why
            with contextlib.suppress(Exception):  # the query ended just now, or the server is gone
                conn.cancel_safe(timeout=10.0)

    done = threading.Event()

    def watch_size() -> None:
        # a migration inserting in a loop grows the cluster by ~100 MB/s: look four times a second
        while not done.wait(0.25):
            if limits.cluster is not None and limits.max_cluster_bytes is not None \
                    and folder_size(limits.cluster) > limits.max_cluster_bytes:
                cancel("size")
                return

    timer = threading.Timer(wait, cancel, args=(reason,))
    timer.daemon = True
    timer.start()
    sizer = threading.Thread(target=watch_size, daemon=True) if limits.max_cluster_bytes is not None else None
    if sizer is not None:
        sizer.start()
    try:
        yield watch
    finally:
        timer.cancel()
        done.set()
        timer.join(timeout=15.0)
        if sizer is not None:
            sizer.join(timeout=15.0)


def folder_size(path: str) -> int:
    """Bytes under ``path`` (files only, symlinks not followed); what cannot be read counts as nothing."""
    total = 0
    stack = [path]
    while stack:
        with contextlib.suppress(OSError), os.scandir(stack.pop()) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
    return total


def describe_size(size: int) -> str:
    for unit, scale in (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


__all__ = ["Limits", "Watch", "describe", "describe_size", "folder_size", "guarded", "parse_duration"]
