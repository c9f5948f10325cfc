"""Clean exits: SIGINT, SIGTERM, SIGHUP and SIGQUIT stop ``verify`` through its ``finally`` blocks, so the
throwaway server is stopped and its folder removed, and the process then exits with 128 + the signal."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
CLEANUP_SECONDS = 45.0  # a cleanup that hangs (a server that will not stop) must not keep a CI job waiting


def _exit_anyway_after(seconds: float, code: int) -> None:
    """A last resort: if the cleanup has not finished by then, exit all the same (a cluster left behind
    is removed by the next run, which finds its owner gone)."""
    def force() -> None:
        sys.stderr.write("schemalint: the clean-up after the signal did not finish in time; exiting anyway\n")
        os._exit(code)

    timer = threading.Timer(seconds, force)
    timer.daemon = True
    timer.start()


class Interrupted(KeyboardInterrupt):
    """A signal asked ``verify`` to stop; raised in the main thread so every cleanup runs. A subclass of
    KeyboardInterrupt because psycopg then cancels the running query on the server before it re-raises."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


@contextlib.contextmanager
def stop_cleanly_on_signals() -> Iterator[None]:
    """While inside, each handled signal raises :class:`Interrupted` once; signals that arrive while the
    cleanup runs are ignored, so a second Ctrl-C cannot leave a server behind."""
    raised = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal raised
        if raised:
            return
        raised = True
        _exit_anyway_after(CLEANUP_SECONDS, 128 + signum)
        raise Interrupted(signum)

    previous: dict[signal.Signals, Any] = {}
    try:
        for sig in HANDLED:
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread (a library caller): leave the signals alone
        for restored, old in previous.items():
            signal.signal(restored, old)
        yield
        return
    try:
        yield
    except Interrupted:
        raise
    except KeyboardInterrupt:
        raise Interrupted(signal.SIGINT) from None
    finally:
        for restored, old in previous.items():
            signal.signal(restored, old)


__all__ = ["HANDLED", "Interrupted", "stop_cleanly_on_signals"]
