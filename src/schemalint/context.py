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
from schemalint.sources.runners import AUTOCOMMIT, IMPLICIT, RUNNERS, WRAPPED, Runner
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
    index: int = 0  # which statement the rules are looking at
    explicit_transaction: bool = False
    tx_serial: int = 0
    lock_timeout_session: bool = False
    lock_timeout_local: bool = False
    lock_timeout_session_ms: float | None = None  # the value in force, when it could be read
    lock_timeout_local_ms: float | None = None
    timezone_utc_session: bool = False  # SET timezone = 'UTC' (or another zone at offset 0) in force
    timezone_utc_local: bool = False
    exclusive_locks: dict[QName, Statement] = field(default_factory=dict)  # existing tables, this tx → the
    # statement that took the lock (inside a DO block: the block's own statement, at its real line)
    ddl_tables: set[QName] = field(default_factory=set)  # tables altered by DDL in this transaction
    transaction_problems: list[TransactionProblem] = field(default_factory=list)
    open_begin: int | None = None
    current: Statement | None = None  # a statement inside a DO block or called function, when judging one
    in_block: bool = False  # judging the statements of a DO block / function: one transaction
    routines_run: set[str] = field(default_factory=set)  # routines of this file already judged at a call
    transaction: str = AUTOCOMMIT  # how the runner runs this file (runners.py): wrapped, implicit, autocommit
    runner: Runner = field(default_factory=lambda: RUNNERS["psql"])
    at_ref: AtRef | None = None  # with --since: the file as git knew it at the ref (SL013, SL014)

    # --- what rules ask -------------------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        return self.explicit_transaction or self.runner_transaction or self.in_block

    @property
    def runner_transaction(self) -> bool:
        """The runner itself runs the whole file in one transaction (wrapped, or one implicit block)."""
        return self.transaction != AUTOCOMMIT

    def runner_transaction_phrase(self) -> str:
        """"in a file goose wraps in a transaction", for messages."""
        if self.transaction == IMPLICIT:
            return (f"in a file {self.runner.name} sends as one multi-statement query, which PostgreSQL runs as one "
                    f"implicit transaction")
        if self.runner.name == "assume-in-transaction":
            return "in a file your runner wraps in a transaction (assume-in-transaction = true)"
        return f"in a file {self.runner.name} wraps in a transaction"

    @property
    def lock_timeout(self) -> bool:
        return self.lock_timeout_session or self.lock_timeout_local

    @property
    def lock_timeout_ms(self) -> float | None:
        """The lock_timeout in force, in milliseconds (None: none set, or not readable)."""
        if self.lock_timeout_local:
            return self.lock_timeout_local_ms
        return self.lock_timeout_session_ms if self.lock_timeout_session else None

    @property
    def timezone_utc(self) -> bool:
        return self.timezone_utc_local or self.timezone_utc_session

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
            for lock in self.locks(stmt):
                if lock.mode == LockMode.ACCESS_EXCLUSIVE and self.is_existing(lock.table):
                    self.exclusive_locks.setdefault(lock.table, stmt)
                if stmt.kind in ("AlterTableStmt", "IndexStmt", "RenameStmt"):
                    self.ddl_tables.add(lock.table)
        else:
            self._end_transaction()  # autocommit: every statement is its own transaction

    def _end_transaction(self) -> None:
        self.tx_serial += 1
        self.lock_timeout_local = False
        self.lock_timeout_local_ms = None
        self.timezone_utc_local = False
        self.exclusive_locks.clear()
        self.ddl_tables.clear()

    def _transaction(self, stmt: Statement) -> None:
        kind = stmt.node.get("kind", "")
        if kind in ("TRANS_STMT_BEGIN", "TRANS_STMT_START"):
            if self.explicit_transaction:
                self.transaction_problems.append(TransactionProblem(
                    self.index, "BEGIN inside an open transaction: PostgreSQL only warns and keeps the outer transaction"))
                return
            # Inside an implicit transaction (one multi-statement query) BEGIN is legal: PostgreSQL turns the
            # implicit block into an explicit one without a warning.
            if self.transaction == WRAPPED:
                self.transaction_problems.append(TransactionProblem(
                    self.index, f"BEGIN inside the transaction your runner opens for the file ({self.runner.name}): "
                    "PostgreSQL only warns, and the file's COMMIT then ends the runner's transaction early"))
            self.explicit_transaction = True
            self.open_begin = self.index
            self.tx_serial += 1
            self.exclusive_locks.clear()
            self.ddl_tables.clear()
        elif kind in ("TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK", "TRANS_STMT_COMMIT_PREPARED",
                      "TRANS_STMT_PREPARE", "TRANS_STMT_ROLLBACK_PREPARED"):
            if not self.explicit_transaction and not self.runner_transaction:
                word = "COMMIT" if "COMMIT" in kind else "ROLLBACK"
                self.transaction_problems.append(TransactionProblem(
                    self.index, f"{word} with no open transaction: PostgreSQL only warns"))
            self.explicit_transaction = False
            self.open_begin = None
            self._end_transaction()

    def _set(self, node: dict[str, Any]) -> None:
        kind = node.get("kind", "")
        if kind == "VAR_RESET_ALL":
            self.lock_timeout_session = self.lock_timeout_local = False
            self.timezone_utc_session = self.timezone_utc_local = False
        elif node.get("name") == "timezone":
            args = node.get("args") or []
            value = const_value(args[0]) if kind == "VAR_SET_VALUE" and args else None
            utc = str(value).strip().lower() in _UTC_ZONES if value is not None else False
            if node.get("is_local"):
                self.timezone_utc_local = utc and self.in_transaction
            else:
                self.timezone_utc_session = utc
                self.timezone_utc_local = False
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
        milliseconds = guc_milliseconds(value) if active else None
        if is_local:
            if self.in_transaction:
                self.lock_timeout_local = active
                self.lock_timeout_local_ms = milliseconds
        else:
            self.lock_timeout_session = active
            self.lock_timeout_session_ms = milliseconds
            if not active:
                self.lock_timeout_local = False
                self.lock_timeout_local_ms = None


FileContext = Context  # what file-level rules receive: the same object, after the last statement
