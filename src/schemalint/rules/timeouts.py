"""SL114 missing-lock-timeout: a blocking lock taken with no lock_timeout in effect."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.context import Context
from schemalint.findings import Hit, Severity
from schemalint.locks import LockMode
from schemalint.rules.base import rule
from schemalint.rules.recipes import lock_phrase
from schemalint.sql.parse import Statement


@rule("SL114", "missing-lock-timeout", Severity.WARNING,
      "A lock at SHARE or stronger on an existing table with no lock_timeout set: it can queue and block everyone.",
      once_per="file")
def missing_lock_timeout(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    if ctx.lock_timeout or ctx.option("locks", "runner-sets-lock-timeout"):
        return
    for lock in ctx.locks(stmt):
        if lock.mode < LockMode.SHARE or not ctx.is_existing(lock.table) or not lock.table[1]:
            continue
        name = ctx.name(lock.table)
        yield Hit(
            f"{lock.what} {lock_phrase(lock.mode, name)}, with no lock_timeout set: if a long query holds "
            f"{name}, this statement waits in the lock queue and every later query on {name} waits behind it",
            "Set a lock_timeout at the top of the migration and retry the migration when it fires:\n"
            "SET lock_timeout = '5s';\n"
            "(or set `runner-sets-lock-timeout = true` under [tool.schemalint.locks] if your runner sets it)",
        )
        return
