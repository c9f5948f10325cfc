"""What is true before each statement of a file: transaction block, lock_timeout, locks held.

The engine advances one :class:`Context` per file; rules only read it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from schemalint.config import Settings
from schemalint.durations import guc_milliseconds
from schemalint.model.locks import LockMode, LockTaken, locks_taken
from schemalint.model.schema import SchemaModel
from schemalint.sources.files import AtRef
from schemalint.sources.runners import (
    AUTOCOMMIT,
    IMPLICIT,
    RUNNERS,
    Runner,
    in_one_transaction,
)
from schemalint.sql.names import QName, display, quote_ident, range_var, strings
from schemalint.sql.nodes import const_value, walk
from schemalint.sql.parse import Statement
from schemalint.sql.sections import Sections
from schemalint.sql.text import SourceText

_UTC_ZONES = frozenset(("utc", "etc/utc", "gmt", "etc/gmt", "zulu", "uct", "universal", "etc/universal", "z"))
_ZERO_DURATION = re.compile(r"^\s*0+(\.0*)?\s*[a-z]*\s*$", re.I)


_ENDS_TRANSACTION = frozenset(("TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK", "TRANS_STMT_PREPARE",
                               "TRANS_STMT_COMMIT_PREPARED", "TRANS_STMT_ROLLBACK_PREPARED"))


@dataclass(slots=True)
class TransactionProblem:
    statement: int
    message: str


@dataclass(frozen=True, slots=True)
class LockTimeout:
    """A non-zero lock_timeout in force."""

    milliseconds: float | None  # None when its value could not be read


@dataclass(slots=True)
class Session:
    """What ``SET`` (without LOCAL) put in force for the rest of the file."""

    lock_timeout: LockTimeout | None = None
    timezone_utc: bool = False  # SET timezone = 'UTC' (or another zone at offset 0)


@dataclass(slots=True)
class Transaction:
    """The transaction the next statement runs in, as PostgreSQL sees it. Replaced whole when one ends, so
    nothing of a committed transaction leaks into the next."""

    serial: int = 0  # counts the file's transactions; a SET LOCAL, a lock or a label belongs to one
    explicit: bool = False  # opened by the file's own BEGIN
    opened_at: int | None = None  # that BEGIN's position among the forward statements
    lock_timeout: LockTimeout | None = None  # SET LOCAL lock_timeout
    timezone_utc: bool = False  # SET LOCAL timezone = 'UTC'
    exclusive_locks: dict[QName, Statement] = field(default_factory=dict)  # existing tables → the statement
    # that took the lock (inside a DO block: the block's own statement, at its real line)
    ddl_tables: set[QName] = field(default_factory=set)  # tables altered by DDL in this transaction

    def following(self) -> Transaction:
        """The transaction after this one ends."""
        return Transaction(self.serial + 1)


@dataclass(slots=True)
class Context:
    file: str  # the path as given on the command line
    source: SourceText
    statements: list[Statement]  # the forward statements of the file
    settings: Settings
    model: SchemaModel
    sections: Sections
    rollback_statements: list[Statement] = field(default_factory=list)
    has_rollback_file: bool = False
    index: int = 0  # which statement of the file the rules are looking at
    session: Session = field(default_factory=Session)
    transaction: Transaction = field(default_factory=Transaction)
    transaction_problems: list[TransactionProblem] = field(default_factory=list)
    current: Statement | None = None  # a statement inside a DO block or called function, when judging one
    routines_run: set[str] = field(default_factory=set)  # routines of this file already judged at a call
    run_mode: str = AUTOCOMMIT  # how the runner runs this file (runners.py): wrapped, implicit, autocommit
    runner: Runner = field(default_factory=lambda: RUNNERS["psql"])
    at_ref: AtRef | None = None  # with --since: the file as git knew it at the ref (SL013, SL014)

    # --- what rules ask -------------------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        return self.transaction.explicit or self.runner_transaction or self.in_block

    @property
    def in_block(self) -> bool:
        """Judging a statement a DO block or a called routine runs: it is part of that one transaction."""
        return self.current is not None

    @property
    def runner_transaction(self) -> bool:
        """The runner itself runs the whole file in one transaction (wrapped, or one implicit block of more than
        one statement)."""
        return in_one_transaction(self.run_mode, self.statements, self.settings.target_postgres)

    def runner_transaction_phrase(self) -> str:
        """"in a file goose wraps in a transaction", for messages."""
        if self.run_mode == IMPLICIT:
            return (f"in a file {self.runner.name} sends as one multi-statement query, which PostgreSQL runs as one "
                    f"implicit transaction")
        if self.runner.name == "assume-in-transaction":
            return "in a file your runner wraps in a transaction (assume-in-transaction = true)"
        return f"in a file {self.runner.name} wraps in a transaction"

    def outside_transaction_phrase(self) -> str:
        """Where a statement PostgreSQL refuses in a transaction block goes: "in a migration that diesel runs outside
        a transaction (run_in_transaction = false in the migration's metadata.toml)" when the runner wraps this file,
        else "outside any transaction block"."""
        if self.runner.name in RUNNERS and self.runner_transaction:
            return f"in a migration that {self.runner.name} runs outside a transaction ({self.runner.opt_out})"
        return "outside any transaction block"

    @property
    def lock_timeout(self) -> bool:
        return self.transaction.lock_timeout is not None or self.session.lock_timeout is not None

    @property
    def lock_timeout_ms(self) -> float | None:
        """The lock_timeout in force, in milliseconds (None: none set, or not readable)."""
        in_force = self.transaction.lock_timeout or self.session.lock_timeout
        return in_force.milliseconds if in_force is not None else None

    @property
    def timezone_utc(self) -> bool:
        return self.transaction.timezone_utc or self.session.timezone_utc

    def existing_table(self, stmt: Statement) -> QName | None:
        """The table the statement works on (its ``relation``), or None when this file created it: nobody can
        be using it yet, so no lock or compatibility hazard applies."""
        table = self.rv(stmt.node.get("relation"))
        return None if self.is_new(table) else table

    @property
    def target_postgres(self) -> int:
        return self.settings.target_postgres

    @property
    def statement(self) -> Statement:
        return self.current if self.current is not None else self.statements[self.index]

    def option(self, table: str, key: str) -> Any:
        return self.settings.option(table, key)

    def rv(self, node: Any) -> QName:
        return range_var(node, self.settings.default_schema)

    def name(self, qname: QName) -> str:
        return display(qname, self.settings.default_schema)

    def is_new(self, table: QName) -> bool:
        """Created earlier in this file: no lock or compatibility hazard."""
        return self.model.is_new_table(table, self.file)

    def is_existing(self, table: QName) -> bool:
        return not self.model.is_new_table(table, self.file)

    def later_statements(self) -> list[Statement]:
        return self.statements[self.index + 1 :]

    def rest_of_transaction(self) -> list[Statement]:
        """The later statements of the file that run in the same transaction as this one (none when each
        statement commits on its own, and none judged from inside a DO block)."""
        if not self.in_transaction or self.current is not None:
            return []
        out = []
        for later in self.later_statements():
            if later.kind == "TransactionStmt" and later.node.get("kind") in _ENDS_TRANSACTION:
                break
            out.append(later)
        return out

    def locks(self, stmt: Statement) -> list[LockTaken]:
        """The locks ``stmt`` takes (computed once per statement, before the model takes it in)."""
        memo = stmt.facts()
        if "locks" not in memo:
            memo["locks"] = locks_taken(stmt.kind, stmt.node, self.settings.default_schema, self.model)
        result: list[LockTaken] = memo["locks"]
        return result

    def lock_of(self, stmt: Statement, table: QName | None = None,
                default: LockMode = LockMode.ACCESS_EXCLUSIVE) -> LockMode:
        """The strongest lock the whole statement takes on ``table`` (any table when None), from the one
        statement → lock table in model/locks.py."""
        modes = [lock.mode for lock in self.locks(stmt) if table is None or lock.table == table]
        return max(modes) if modes else default

    def batch_key(self, table: QName) -> str:
        """What a batched UPDATE selects by: the primary key the history knows ("id", "(tenant_id, id)"), else
        a placeholder for the user to fill in."""
        known = self.model.table(table)
        primary = next((c for c in known.constraints.values() if c.kind == "PRIMARY"), None) if known else None
        if primary is None or not primary.columns:
            return "<key>"
        columns = [quote_ident(c) for c in primary.columns]
        return columns[0] if len(columns) == 1 else f"({', '.join(columns)})"

    def lock_timeout_prefix(self) -> str:
        """``SET lock_timeout`` for a recipe, unless one is in force or the runner sets it."""
        if self.lock_timeout or self.option("locks", "runner-sets-lock-timeout"):
            return ""
        return "SET lock_timeout = '5s';\n"

    # --- the engine advances it -----------------------------------------------------------
    def judging(self, inner: Statement) -> _Judging:
        """``with ctx.judging(inner):`` judge ``inner``, a statement a DO block or a called routine runs, as part
        of that block's transaction."""
        return _Judging(self, inner)

    def advance(self, stmt: Statement) -> None:
        """Update transaction and timeout state after ``stmt`` (before the model applies it)."""
        if stmt.kind == "TransactionStmt":
            self._transaction(stmt)
            return
        if stmt.kind == "VariableSetStmt":
            self._set(stmt.node)
        elif stmt.kind == "SelectStmt" and "set_config" in stmt.text.lower():
            self._set_config(stmt.node)
        if self.in_transaction:
            tx = self.transaction
            for lock in self.locks(stmt):
                if lock.mode == LockMode.ACCESS_EXCLUSIVE and self.is_existing(lock.table):
                    tx.exclusive_locks.setdefault(lock.table, stmt)
                if stmt.kind in ("AlterTableStmt", "IndexStmt", "RenameStmt"):
                    tx.ddl_tables.add(lock.table)
        else:
            self.transaction = self.transaction.following()  # autocommit: every statement is its own transaction

    def _printed_atomic_block(self, stmt: Statement) -> bool:
        """Django's ``sqlmigrate`` prints the BEGIN/COMMIT of the atomic block Django itself opens: with runner
        django a BEGIN that opens the file and a COMMIT that closes it are the runner's, not the file's."""
        if self.runner.name != "django" or not self.statements:
            return False
        first, last = self.statements[0], self.statements[-1]
        opens = first.kind == "TransactionStmt" and first.node.get("kind") in ("TRANS_STMT_BEGIN", "TRANS_STMT_START")
        closes = last.kind == "TransactionStmt" and last.node.get("kind") == "TRANS_STMT_COMMIT"
        return opens and closes and (stmt is first or stmt is last)

    def _transaction(self, stmt: Statement) -> None:
        kind = stmt.node.get("kind", "")
        tx = self.transaction
        if self._printed_atomic_block(stmt):
            return  # the runner's own transaction, already in force for the whole file
        if kind in ("TRANS_STMT_BEGIN", "TRANS_STMT_START"):
            if tx.explicit:
                self.transaction_problems.append(TransactionProblem(
                    self.index, "BEGIN inside an open transaction: PostgreSQL only warns and keeps the outer transaction"))
                return
            # Inside an implicit transaction (one multi-statement query) BEGIN is legal: PostgreSQL turns the
            # implicit block into an explicit one without a warning.
            if self.run_mode != IMPLICIT and self.runner_transaction:
                self.transaction_problems.append(TransactionProblem(
                    self.index, f"BEGIN inside the transaction your runner opens for the file ({self.runner.name}): "
                    "PostgreSQL only warns, and the file's COMMIT then ends the runner's transaction early"))
            # what SET LOCAL put in force before the BEGIN (in the runner's transaction) still holds
            self.transaction = Transaction(tx.serial + 1, explicit=True, opened_at=self.index,
                                           lock_timeout=tx.lock_timeout, timezone_utc=tx.timezone_utc)
        elif kind in _ENDS_TRANSACTION:
            if not tx.explicit and not self.runner_transaction:
                word = "COMMIT" if "COMMIT" in kind else "ROLLBACK"
                self.transaction_problems.append(TransactionProblem(
                    self.index, f"{word} with no open transaction: PostgreSQL only warns"))
            self.transaction = tx.following()

    def _set(self, node: dict[str, Any]) -> None:
        kind = node.get("kind", "")
        if kind == "VAR_RESET_ALL":
            self.session = Session()
            self.transaction.lock_timeout = None
            self.transaction.timezone_utc = False
        elif node.get("name") == "timezone":
            args = node.get("args") or []
            value = const_value(args[0]) if kind == "VAR_SET_VALUE" and args else None
            utc = str(value).strip().lower() in _UTC_ZONES if value is not None else False
            if node.get("is_local"):
                self.transaction.timezone_utc = utc and self.in_transaction
            else:
                self.session.timezone_utc = utc
                self.transaction.timezone_utc = False
        elif node.get("name") == "lock_timeout":
            args = node.get("args") or []
            value = const_value(args[0]) if kind == "VAR_SET_VALUE" and args else None
            self._set_lock_timeout(value, bool(node.get("is_local")))

    def _set_config(self, node: dict[str, Any]) -> None:
        for kind, fields in walk(node):
            if kind != "FuncCall" or strings(fields.get("funcname"))[-1:] != ["set_config"]:
                continue
            args = fields.get("args") or []
            if len(args) >= 3 and const_value(args[0]) == "lock_timeout":
                self._set_lock_timeout(const_value(args[1]), const_value(args[2]) in (True, "true", "t", "on"))

    def _set_lock_timeout(self, value: object, is_local: bool) -> None:
        """SET [LOCAL] lock_timeout / set_config(): a local value lasts until the transaction ends (and only
        exists inside one); a session value replaces both. No value (RESET, DEFAULT) or zero turns it off."""
        active = value is not None and not _ZERO_DURATION.match(str(value))
        in_force = LockTimeout(guc_milliseconds(value)) if active else None
        if is_local:
            if self.in_transaction:
                self.transaction.lock_timeout = in_force
        else:
            self.session.lock_timeout = in_force
            if in_force is None:
                self.transaction.lock_timeout = None


class _Judging:
    """The ``with`` of :meth:`Context.judging` (a plain class: it wraps each of a long DO block's statements)."""

    __slots__ = ("ctx", "inner")

    def __init__(self, ctx: Context, inner: Statement) -> None:
        self.ctx, self.inner = ctx, inner

    def __enter__(self) -> None:
        self.ctx.current = self.inner

    def __exit__(self, *_: object) -> None:
        self.ctx.current = None


FileContext = Context  # what file-level rules receive: the same object, after the last statement
