"""SL0xx: the file itself (syntax, encoding, suppressions, transaction balance)."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.context import FileContext
from schemalint.findings import Hit, Severity
from schemalint.rules.base import file_rule, meta_rule

meta_rule("SL001", "syntax-error", Severity.ERROR,
          "The file or one of its statements is not valid PostgreSQL grammar.")
meta_rule("SL002", "unreadable-file", Severity.ERROR,
          "The file cannot be read or is not valid UTF-8.")
meta_rule("SL003", "unknown-suppression", Severity.WARNING,
          "A schemalint: comment names an unknown rule or is malformed.")


@file_rule("SL004", "unbalanced-transaction", Severity.ERROR,
           "BEGIN without COMMIT/ROLLBACK, COMMIT with no open transaction, or a nested BEGIN.")
def unbalanced_transaction(ctx: FileContext) -> Iterator[Hit]:
    for problem in ctx.transaction_problems:
        yield Hit(problem.message,
                  "Pair every BEGIN with exactly one COMMIT (or ROLLBACK) in the same file.",
                  ctx.statements[problem.statement].start)
    if ctx.transaction.opened_at is not None and ctx.transaction.explicit:
        yield Hit("BEGIN is never closed: the transaction is still open at the end of the file, and the "
                  "runner's connection keeps every lock it took until it disconnects",
                  "Add COMMIT; after the last statement of the transaction.",
                  ctx.statements[ctx.transaction.opened_at].start)
