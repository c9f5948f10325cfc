"""Transaction blocks: SL104 (statements PostgreSQL refuses inside one) and SL115 (work done while an
ACCESS EXCLUSIVE lock is held)."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.context import Context
from schemalint.findings import Edit, Hit, Severity
from schemalint.model.locks import LockMode, dml_target
from schemalint.rules.alter import alter_commands
from schemalint.rules.base import rule
from schemalint.sources.runners import PER_SCRIPT, RUNNERS
from schemalint.sql.parse import Statement
from schemalint.sql.plpgsql import analyse_body
from schemalint.sql.scan import one_line
from schemalint.sql.transactions import flyway_runs_outside_transaction, refused_in_transaction

_RUNNER_HINT = (
    "Put it in a migration of its own that your runner does not wrap in a transaction "
    "(Flyway: executeInTransaction=false; Django: atomic = False; Rails: disable_ddl_transaction!; "
    "Alembic: autocommit_block(); golang-migrate/dbmate: a file without BEGIN/COMMIT), "
    "or move it after the COMMIT."
)


REFUSABLE_KINDS = frozenset((  # the statement kinds refused_in_transaction can name
    "IndexStmt", "DropStmt", "ReindexStmt", "VacuumStmt", "CreatedbStmt", "DropdbStmt", "AlterSystemStmt",
    "CreateTableSpaceStmt", "DropTableSpaceStmt", "AlterEnumStmt", "AlterTableStmt",
    "DiscardStmt", "CreateSubscriptionStmt", "DropSubscriptionStmt",  # Flyway runs these outside a transaction
    "DoStmt", "CallStmt",  # a body that runs COMMIT or ROLLBACK
))


@rule("SL104", "concurrently-in-transaction", Severity.ERROR,
      "A statement PostgreSQL refuses inside a transaction block (CONCURRENTLY, VACUUM, …) used in one.",
      kinds=REFUSABLE_KINDS, fix="unsafe")
def concurrently_in_transaction(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    if ctx.run_mode == PER_SCRIPT and not ctx.in_block:
        yield from _flyway_mixed(stmt, ctx)
        if not ctx.runner_transaction:
            return
    if not ctx.in_transaction:
        return
    what = refused_in_transaction(stmt, ctx.target_postgres) or _procedure_ending_transaction(stmt, ctx)
    if what is None:
        return
    if stmt.kind in ("DoStmt", "CallStmt"):
        yield _transaction_ended_inside(stmt, ctx, what)
        return
    why = ("inside the explicit BEGIN … COMMIT block" if ctx.transaction.explicit
           else ctx.runner_transaction_phrase())
    if ctx.in_block:
        why = "inside a DO block or function, which always runs in a transaction"
    statement = one_line(stmt.text, 300)
    if ctx.transaction.explicit and not ctx.in_block and not ctx.runner_transaction:
        recipe = f"Run it after the transaction ends:\nCOMMIT;\n{statement};"
    elif ctx.runner.name in RUNNERS and ctx.runner_transaction:
        recipe = f"Run it on its own, {ctx.outside_transaction_phrase()}:\n{statement};"
    else:
        recipe = f"Run it on its own:\n{statement};\n{_RUNNER_HINT}"
    fix = _move_out_of_block(stmt, ctx) if ctx.transaction.explicit and not ctx.runner_transaction else None
    yield Hit(f"{what} cannot run inside a transaction block, and this statement is {why}: PostgreSQL fails "
              f"with \"{what.split(' (')[0]} cannot run inside a transaction block\"", recipe, fix=fix)


def _procedure_ending_transaction(stmt: Statement, ctx: Context) -> str | None:
    """``CALL p()`` of a PL/pgSQL procedure the run created whose body runs COMMIT or ROLLBACK."""
    if stmt.kind != "CallStmt":
        return None
    for parts, routine in ctx.model.routines_called(stmt.kind, stmt.node, ctx.file):
        if routine.kind != "procedure" or routine.language.lower() != "plpgsql":
            continue
        facts = analyse_body(routine.body or "")
        if facts is not None and facts.ends_transaction:
            return f"procedure {'.'.join(parts)}(), which runs COMMIT or ROLLBACK"
    return None


def _transaction_ended_inside(stmt: Statement, ctx: Context, what: str) -> Hit:
    why = ("inside the explicit BEGIN … COMMIT block" if ctx.transaction.explicit else ctx.runner_transaction_phrase())
    runner_help = ctx.outside_transaction_phrase()
    subject = "This DO block runs COMMIT or ROLLBACK" if stmt.kind == "DoStmt" else f"This CALL runs {what}"
    return Hit(f"{subject}, and this statement is {why}: PostgreSQL fails with \"invalid transaction "
               f"termination\" and nothing of the migration is applied",
               f"Run it on its own, {runner_help}, so each COMMIT ends a transaction of its own:\n"
               f"{one_line(stmt.text, 300)};\nOr drop the COMMIT/ROLLBACK and let the migration's transaction "
               f"hold the work.")


def _flyway_mixed(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    """Flyway runs a script holding a statement it knows cannot run in a transaction without one, and refuses a
    script that also holds other statements unless ``mixed = true``: said once, at the first such statement."""
    version = ctx.target_postgres
    if not flyway_runs_outside_transaction(stmt, version):
        return
    outside = [s for s in ctx.statements if flyway_runs_outside_transaction(s, version)]
    others = [s for s in ctx.statements if not flyway_runs_outside_transaction(s, version)]
    if not others or outside[0] is not stmt:
        return
    what = one_line(stmt.text, 60)
    yield Hit(
        f"Flyway refuses this script: it runs {what} without a transaction, and the script also holds statements "
        f"it would run in one (line {others[0].span.line}: {one_line(others[0].text, 40)}); with mixed = false "
        f"Flyway stops with \"Detected both transactional and non-transactional statements within the same "
        f"migration\" and applies nothing",
        "Move the statement into a script of its own (Flyway then runs that script without a transaction), or "
        "set mixed = true in Flyway's configuration (flyway.mixed=true, or spring.flyway.mixed=true): every "
        "statement of the script then commits on its own. schemalint reads mixed from flyway.conf, flyway.toml "
        "and Spring's application.properties; elsewhere, say `[flyway] mixed = true` in its config.")


def _move_out_of_block(stmt: Statement, ctx: Context) -> Edit | None:
    """The statement first after BEGIN moves before it, last before COMMIT after it (unsafe: it leaves the
    transaction). Only where nothing but whitespace separates them, so no comment is lost."""
    if ctx.current is not None or ctx.in_block:
        return None
    text = ctx.source.text
    before = ctx.statements[ctx.index - 1] if ctx.index > 0 else None
    after = ctx.statements[ctx.index + 1] if ctx.index + 1 < len(ctx.statements) else None

    def ends(s: Statement) -> int:  # past the statement's semicolon
        end = s.end
        while end < len(text) and text[end] in " \t":
            end += 1
        return end + 1 if end < len(text) and text[end] == ";" else s.end

    own = text[stmt.start:stmt.end]
    if before is not None and before.kind == "TransactionStmt" and before.node.get("kind") in (
            "TRANS_STMT_BEGIN", "TRANS_STMT_START") and not text[ends(before):stmt.start].strip():
        gap = text[ends(before):stmt.start]
        return Edit(before.start, stmt.end, f"{own};{gap}{text[before.start:before.end]}", safe=False)
    if after is not None and after.kind == "TransactionStmt" and after.node.get("kind") == "TRANS_STMT_COMMIT" \
            and not text[ends(stmt):after.start].strip():
        gap = text[ends(stmt):after.start]
        return Edit(stmt.start, after.end, f"{text[after.start:after.end]};{gap}{own}", safe=False)
    return None


_SLOW = {
    "IndexStmt": "builds an index",
    "UpdateStmt": "rewrites rows",
    "DeleteStmt": "deletes rows",
    "InsertStmt": "copies rows",
    "VacuumStmt": "vacuums",
    "ClusterStmt": "rewrites a table",
    "ReindexStmt": "rebuilds indexes",
    "RefreshMatViewStmt": "refreshes a materialized view",
    "CreateTableAsStmt": "runs a query to fill a table",
}


def _slow_reason(stmt: Statement) -> str | None:
    if stmt.kind == "IndexStmt" and stmt.node.get("concurrent"):
        return None
    if stmt.kind in _SLOW:
        return _SLOW[stmt.kind]
    if stmt.kind == "SelectStmt" and stmt.node.get("intoClause"):
        return "runs a query to fill a table"
    if any(True for _ in alter_commands(stmt, "AT_ValidateConstraint")):
        return None  # a VALIDATE after an ACCESS EXCLUSIVE lock in its transaction is SL107's (more specific)
    if any(True for _ in alter_commands(stmt, "AT_AlterColumnType")):
        return "changes a column type (may rewrite)"
    if any(True for _ in alter_commands(stmt, "AT_SetNotNull")):
        return "sets NOT NULL (a full scan)"
    return None


@rule("SL115", "statements-after-exclusive-lock", Severity.WARNING,
      "In a transaction, slow work or other tables touched after an ACCESS EXCLUSIVE lock is taken.",
      once_per="transaction")
def statements_after_exclusive_lock(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    if not ctx.in_transaction or not ctx.transaction.exclusive_locks:
        return
    held = list(ctx.transaction.exclusive_locks)
    held_names = ", ".join(ctx.name(t) for t in held)
    slow = _slow_reason(stmt)
    touched = {lock.table for lock in ctx.locks(stmt) if lock.mode > LockMode.ACCESS_SHARE}
    target = dml_target(stmt.kind, stmt.node, ctx.settings.default_schema)
    if target is not None:
        touched.add(target)
    others = sorted(t for t in touched if t not in ctx.transaction.exclusive_locks and ctx.is_existing(t))
    if slow is None and not others:
        return
    first = min(ctx.transaction.exclusive_locks.values(), key=lambda s: s.start)
    line = ctx.source.position(first.start)[0]
    doing = slow if slow else f"locks {', '.join(ctx.name(t) for t in others)} too"
    message = (f"This statement {doing} while the transaction still holds the ACCESS EXCLUSIVE lock taken on "
               f"{held_names} at line {line}: every read and write of {held_names} waits until COMMIT")
    if ctx.in_block:
        # a DO block is one transaction and cannot COMMIT in the middle: split the block instead
        yield Hit(message, f"Split the DO block in two, so the statement at line {line} commits before this one "
                           f"runs (each DO block is its own transaction when the file is not one):\n"
                           f"DO $$ BEGIN {one_line(first.text, 200)}; END $$;\n"
                           f"DO $$ BEGIN {one_line(stmt.text, 200)}; END $$;")
        return
    yield Hit(
        message,
        f"Commit right after the statement at line {line}, and run this one in a later transaction:\n"
        f"{one_line(first.text, 200)};\nCOMMIT;\nBEGIN;\n{one_line(stmt.text, 200)};",
    )
