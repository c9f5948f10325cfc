"""Room for deeply nested SQL: PostgreSQL accepts statements nested as deep as its ``max_stack_depth``
(2 MB by default) allows — 150 nested subqueries, hundreds of nested CASEs or IFs — and their parse trees
are as deep. Walking them recursively needs more than Python's default 1,000 frames and the 8 MB main
thread stack, so ``check`` runs in a thread with a large stack and a raised recursion limit (measured:
cheaper than rewriting every tree walk iteratively, and it covers pglast's JSON decoding too)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

STACK_BYTES = 512 * 1024 * 1024  # virtual: only the pages a deep statement really uses are touched
RECURSION_LIMIT = 200_000


def run_deep(work: Callable[[], T]) -> T:
    """``work()`` in a thread with a large stack; its result, or its exception re-raised here."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # re-raised in the caller's thread, whatever it is
            outcome["error"] = exc

    previous_stack = threading.stack_size()
    previous_limit = sys.getrecursionlimit()
    try:
        threading.stack_size(STACK_BYTES)
        sys.setrecursionlimit(max(previous_limit, RECURSION_LIMIT))
        worker = threading.Thread(target=target, name="schemalint-deep")
        worker.start()
    finally:
        threading.stack_size(previous_stack)
    try:
        worker.join()
    finally:
        sys.setrecursionlimit(previous_limit)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
