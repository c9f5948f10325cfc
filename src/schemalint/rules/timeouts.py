"""SL114 missing-lock-timeout and SL124 lock-timeout-too-long: how long a blocking lock may wait in the queue."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.context import Context
from schemalint.durations import guc_milliseconds, spoken
from schemalint.findings import Edit, Hit, Severity
from schemalint.model.locks import LockMode, LockTaken
from schemalint.rules.base import rule
from schemalint.rules.wording import locks_phrase
from schemalint.sql.parse import Statement


@rule("SL114", "missing-lock-timeout", Severity.WARNING,
      "A lock at SHARE or stronger on an existing table with no lock_timeout set: it can queue and block everyone.",
      once_per="file", fix="safe")
def missing_lock_timeout(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    if ctx.lock_timeout or ctx.option("locks", "runner-sets-lock-timeout"):
        return
    blocking, names, held = _blocking(stmt, ctx)
    if not blocking:
        return
    timeout = str(ctx.option("locks", "lock-timeout"))
    first = ctx.statements[0] if ctx.statements else None
    # safe: a session setting before the first statement changes nothing in the schema
    fix = Edit(first.start, first.start, f"SET lock_timeout = '{timeout}';\n") if first is not None else None
    yield Hit(
        f"{blocking[0].what} {locks_phrase([(lock.mode, n) for lock, n in zip(blocking, names, strict=True)])}, "
        f"with no lock_timeout set: if a long query holds {held}, this statement waits in the lock queue and "
        f"every later query on {held} waits behind it",
        "Set a lock_timeout at the top of the migration and retry the migration when it fires:\n"
        f"SET lock_timeout = '{timeout}';\n"
        "(or set `runner-sets-lock-timeout = true` under [tool.schemalint.locks] if your runner sets it)",
        fix=fix,
    )


def _blocking(stmt: Statement, ctx: Context) -> tuple[list[LockTaken], list[str], str]:
    """The SHARE-or-stronger locks the statement takes on existing tables, their names for messages, and
    those names joined ("accounts and orders")."""
    blocking = [lock for lock in ctx.locks(stmt) if lock.mode >= LockMode.SHARE and lock.table[1]
                and (lock.index_of_unknown_table or ctx.is_existing(lock.table))]
    if not blocking:
        return [], [], ""  # most statements (every DML one): asked once per statement, kept cheap
    names = [_locked_name(ctx, lock) for lock in blocking]
    return blocking, names, " and ".join(dict.fromkeys(names))


def _locked_name(ctx: Context, lock: LockTaken) -> str:
    return f"the table of index {ctx.name(lock.table)}" if lock.index_of_unknown_table else ctx.name(lock.table)


@rule("SL124", "lock-timeout-too-long", Severity.WARNING,
      "A lock_timeout longer than max-lock-timeout while a SHARE or stronger lock is taken on an existing table.",
      once_per="file")
def lock_timeout_too_long(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    in_force = ctx.lock_timeout_ms
    if in_force is None:
        return
    limit = guc_milliseconds(ctx.option("locks", "max-lock-timeout"))
    if limit is None or in_force <= limit:
        return
    blocking, names, held = _blocking(stmt, ctx)
    if not blocking:
        return
    yield Hit(
        f"lock_timeout is {spoken(in_force)} (max-lock-timeout is {spoken(limit)}) when {blocking[0].what} "
        f"{locks_phrase([(lock.mode, n) for lock, n in zip(blocking, names, strict=True)])}: while it waits for a "
        f"running query on {held}, every later query on {held} waits behind it, for up to {spoken(in_force)}",
        f"Use a short lock_timeout and retry the migration when it fires:\nSET lock_timeout = '{spoken(limit)}';\n"
        "(or raise `max-lock-timeout` under [tool.schemalint.locks] if your traffic tolerates longer waits)",
    )
