"""Apply migrations in order on a real server and turn what it observes into SL501-SL506 findings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from schemalint.config import Settings
from schemalint.engine import PreparedFile, RunResult
from schemalint.findings import Finding, Severity, Span
from schemalint.locks import LockMode
from schemalint.rules import all_rules
from schemalint.rules.recipes import one_line
from schemalint.rules.transactions import refused_in_transaction
from schemalint.runners import AUTOCOMMIT, transaction_of
from schemalint.sql.parse import Statement, SyntaxProblem
from schemalint.sql.text import SourceText
from schemalint.verify import catalog, observe
from schemalint.verify.progress import Progress, Silent
from schemalint.verify.server import ServerError, clip
from schemalint.verify.timeouts import Limits, Watch, describe, guarded

SUPERUSER_HINT = ("it needs superuser, which verify never gives the migrations under test; for a repository "
                  "you trust, run verify with --allow-superuser")


def _copy_from_stdin(stmt: Statement) -> bool:
    """COPY … FROM STDIN: the rows are not in the migration file (psql sends them), nothing to apply."""
    return stmt.kind == "CopyStmt" and bool(stmt.node.get("is_from")) and not stmt.node.get("filename")


@dataclass(slots=True)
class StatementRow:
    line: int
    text: str
    observation: observe.Observation | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Rollback:
    file: str
    statements: list[Statement]
    error: tuple[Span, str] | None  # the first syntax error: where, and PostgreSQL's parser message


@dataclass(slots=True)
class FileReport:
    file: str
    rows: list[StatementRow] = field(default_factory=list)
    rollback: str = "none"  # none, restored, differs, failed, skipped


class Verifier:
    """Applies statements on the ``migrator`` connection (an unprivileged role unless --allow-superuser)
    and observes them over ``monitor``, a separate session the migration cannot influence. Only what is
    visible inside the migrator's own open transaction (new relfilenodes, its scan counters, its
    lock_timeout) is read on the migrator's connection, with every name qualified."""

    def __init__(self, conn: Any, settings: Settings, enabled: set[str], limits: Limits, *,
                 monitor: Any | None = None, progress: Progress | None = None, privileged: bool = False) -> None:
        self.conn = conn
        self.monitor = monitor if monitor is not None else conn
        self.settings = settings
        self.enabled = enabled
        self.rules = all_rules()
        self.limits = limits
        self.progress: Progress = progress or Silent()
        self.privileged = privileged
        self.reports: list[FileReport] = []
        self.incomplete: list[str] = []  # "file: why it was not fully applied", for the summary
        self.first_failure: str | None = None  # "file:line" of the first statement that failed in the run
        self.out_of_time = False
        self.timed_out = False  # the last failure was a cancel by a time limit, not PostgreSQL's refusal
        self._progress_file = ""
        self.server_version = int(conn.info.server_version) // 10000
        self.pid = int(conn.info.backend_pid)
        self._configure()

    def needs_autocommit(self, stmt: Statement) -> bool:
        """PostgreSQL refuses it in a transaction block: it runs in autocommit, unobserved by pg_locks."""
        return refused_in_transaction(stmt, self.server_version) is not None

    def _configure(self) -> None:
        # A backstop on the server for a client that was killed; the limit itself is the client's cancel.
        backstop_ms = int((self.limits.statement + 5) * 1000)
        self.conn.execute(f"SET statement_timeout = {backstop_ms}")

    # --- findings --------------------------------------------------------------------------
    def _finding(self, code: str, file: str, stmt: Statement | None, message: str, help_text: str,
                 span: Span | None = None) -> Finding | None:
        if code not in self.enabled:
            return None
        rule = self.rules[code]
        severity = self.settings.severity.get(code, rule.severity)
        span = span or (stmt.span if stmt is not None else Span(1, 1, 1, 1))
        return Finding(code, rule.name, Severity(severity), file, span, message, help_text)

    # --- applying ------------------------------------------------------------------------
    def _execute(self, sql: str) -> str | None:
        """Run one statement under the time limits; PostgreSQL's message when it fails (the session is left
        usable)."""
        import psycopg

        with guarded(self.conn, self.limits) as watch:
            try:
                self.conn.execute(sql)
            except psycopg.Error as exc:
                failure: psycopg.Error | None = exc
            else:
                failure = None
        if failure is None:
            return None
        if self.conn.closed or self.conn.broken:
            raise ServerError(f"lost the connection to PostgreSQL: {clip(str(failure))}") from None
        message = self._message(failure, watch)
        if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.conn.execute("ROLLBACK")
        self._configure()
        return message

    def _message(self, exc: Any, watch: Watch) -> str:
        sqlstate = getattr(exc, "sqlstate", None)
        self.timed_out = sqlstate == "57014" and watch.cancelled_by is not None
        if sqlstate == "57014" and watch.cancelled_by == "run":
            self.out_of_time = True
            return (f"did not finish before the run reached its --timeout of {describe(self.limits.run_limit or 0)}: "
                    f"verify cancelled it and stopped")
        if sqlstate == "57014" and watch.cancelled_by == "statement":
            return (f"did not finish within {describe(self.limits.statement)} (--statement-timeout): verify "
                    f"cancelled it")
        message = clip((exc.diag.message_primary or str(exc)).strip())
        if not self.privileged and (sqlstate == "42501" or "must be superuser" in message):
            message += f" ({SUPERUSER_HINT})"
        return message

    def apply_plain(self, statements: list[Statement], transaction: str = AUTOCOMMIT) -> str | None:
        """Apply statements the way the runner would (in one transaction unless it runs the file in
        autocommit), without observing; the first error, if any (the transaction is then rolled back)."""
        errors = self._apply_all(statements, transaction, keep_going=False)
        return errors[0] if errors else None

    def _apply_all(self, statements: list[Statement], transaction: str, keep_going: bool) -> list[str]:
        """Apply statements without observing: stop at the first error, or (``keep_going``, as psql restores
        a dump) go on after each; the errors, each with its line."""
        if transaction != AUTOCOMMIT:
            self.conn.execute("BEGIN")
        errors: list[str] = []
        for stmt in statements:
            if _copy_from_stdin(stmt):
                continue  # COPY FROM STDIN: the data is not in the file
            self.progress.statement(self._progress_file, stmt.span.line, one_line(stmt.text, 60))
            error = self._execute(stmt.text)
            if error is not None:
                errors.append(f"{error} (at line {stmt.span.line})")
                if not keep_going:
                    return errors
        commit_error = self._commit_if_open()
        return errors + ([commit_error] if commit_error is not None else [])

    def _commit_if_open(self) -> str | None:
        import psycopg

        if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            return self._execute("COMMIT")
        return None

    def run(self, files: list[PreparedFile], rollback_files: dict[str, PreparedFile]) -> RunResult:
        result = RunResult()
        ups = [p for p in files if p.source.role == "up"]
        for number, prepared in enumerate(ups):
            if self.out_of_time or self.limits.run_expired():
                self.out_of_time = True
                left = len(ups) - number
                self.incomplete.append(f"{left} file{'s' if left != 1 else ''} not applied: the run reached its "
                                       f"--timeout of {describe(self.limits.run_limit or 0)}")
                break
            result.files += 1
            file = prepared.source.display
            if prepared.parsed is None or prepared.text is None:
                self.incomplete.append(f"{file}: cannot be read, not applied")
                unreadable = self._finding("SL002", file, None, prepared.error or "unreadable file",
                                           "Save the file as UTF-8 text.")
                if prepared.source.judged and unreadable is not None:
                    result.findings.append(unreadable)
                continue
            forward, syntax_line, syntax = self._applicable(prepared)
            if syntax_line is not None:
                self.incomplete.append(f"{file}: applied up to the syntax error at line {syntax_line}")
            self._progress_file = file
            if prepared.source.baseline:
                self._apply_baseline(file, forward)
                continue
            if not prepared.source.judged:
                error = self.apply_plain(forward, transaction_of(prepared.source, self.settings.assume_in_transaction))
                if error is not None:
                    self.incomplete.append(f"{file} (history): {error}")
                continue
            result.findings.extend(self.verify_file(prepared, forward, rollback_files, syntax,
                                                    complete=syntax_line is None))
        result.incomplete.extend(self.incomplete)
        result.findings.sort(key=Finding.sort_key)
        return result

    def _apply_baseline(self, file: str, statements: list[Statement]) -> None:
        """A schema dump, as psql restores one: statement by statement, going on after an error; then the
        session settings it changed (pg_dump's search_path = '', …) are reset for the migrations."""
        failures = self._apply_all(statements, AUTOCOMMIT, keep_going=True)
        self.conn.execute("RESET ALL")
        self._configure()
        if failures:
            self.incomplete.append(f"{file} (baseline): {len(failures)} statement{'s' if len(failures) != 1 else ''} "
                                   f"failed, the first: {failures[0]}")

    def _applicable(self, prepared: PreparedFile) -> tuple[list[Statement], int | None, Finding | None]:
        """The forward statements a runner would get through: those before the first syntax error (the
        server would reject the file there), and that error as an SL001 finding."""
        assert prepared.parsed is not None and prepared.text is not None
        down = prepared.sections.down_start if prepared.source.role == "up" else None
        forward_errors = [e for e in prepared.parsed.errors if down is None or e.offset < down]
        statements = [s for s in prepared.parsed.statements if s.section == "up"]
        if not forward_errors:
            return statements, None, None
        first = min(e.offset for e in forward_errors)
        problem = next(e for e in forward_errors if e.offset == first)
        span = prepared.text.span(first, first + 1)
        finding = self._finding("SL001", prepared.source.display, None,
                                f"{problem.message} (verify applied the statements before it and stopped here)",
                                "Fix the statement so PostgreSQL can parse it.", span)
        return [s for s in statements if s.start < first], span.line, finding

    def verify_file(self, prepared: PreparedFile, forward: list[Statement],
                    rollback_files: dict[str, PreparedFile], syntax: Finding | None = None,
                    complete: bool = True) -> list[Finding]:
        file = prepared.source.display
        report = FileReport(file)
        self.reports.append(report)
        findings: list[Finding | None] = [syntax]
        before = catalog.snapshot(self.monitor)
        watched = observe.relations(self.monitor)
        # as the runner does: the whole file in one transaction (a statement PostgreSQL refuses in a
        # transaction block then fails, as it would for the runner), or statement by statement
        transaction = transaction_of(prepared.source, self.settings.assume_in_transaction)
        one_transaction = transaction != AUTOCOMMIT
        if one_transaction:
            self.conn.execute("BEGIN")
        in_user_tx = one_transaction
        failed = not complete  # a file cut short by a syntax error has no rollback worth comparing
        for stmt in forward:
            row = StatementRow(stmt.span.line, one_line(stmt.text, 70), None)
            report.rows.append(row)
            self.progress.statement(file, stmt.span.line, row.text)
            if _copy_from_stdin(stmt):
                row.error = None
                row.text = "(skipped: COPY FROM STDIN needs the data psql would send) " + row.text
                self.incomplete.append(f"{file}: COPY FROM STDIN at line {stmt.span.line} not applied (its rows "
                                       f"are psql data, not SQL)")
                continue  # the rows are not in the migration file: nothing to apply
            if stmt.kind == "TransactionStmt":
                kind = stmt.node.get("kind", "")
                error = self._execute(stmt.text)
                in_user_tx = kind in ("TRANS_STMT_BEGIN", "TRANS_STMT_START") or (
                    in_user_tx and kind not in ("TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK"))
                if error is None:
                    continue
                row.error = error
            else:
                row.observation, row.error = self._observe(stmt, watched, in_user_tx)
            if row.error is not None:
                earlier = (f" (note: {self.first_failure} failed earlier in this run, so objects it would have "
                           f"created may be missing here)") if self.first_failure else ""
                self.first_failure = self.first_failure or f"{file}:{stmt.span.line}"
                if self.timed_out:
                    message, help_text = f"This statement {row.error}", (
                        "Make it finish within the limit (batch the work, add the index it needs), or raise "
                        "--statement-timeout / --timeout if it is expected to take that long.")
                else:
                    message, help_text = f"PostgreSQL rejects this statement: {row.error}{earlier}", (
                        "Fix the statement: this migration fails when it runs (the statements after it were not "
                        "applied).")
                findings.append(self._finding("SL501", file, stmt, message, help_text))
                if in_user_tx:
                    in_user_tx = False
                failed = True
                break
            findings.extend(self._judge(file, stmt, row.observation))
        if in_user_tx:
            self._execute("COMMIT")
        rollback = self._rollback(prepared, rollback_files)
        if failed or rollback is None:
            report.rollback = "skipped" if failed else "none"
            return [f for f in findings if f is not None]
        if rollback.error is not None:
            span, message = rollback.error
            report.rollback = "skipped"
            self.incomplete.append(f"{rollback.file}: rollback not run, it has a syntax error at line {span.line}")
            findings.append(self._finding("SL001", rollback.file, None, f"in the rollback: {message} (verify did "
                                          f"not run the rollback)", "Fix the rollback SQL so it can be run when "
                                          "needed.", span))
            return [f for f in findings if f is not None]
        down_file, statements = rollback.file, rollback.statements
        error_at: Statement | None = None
        rollback_error: str | None = None
        if one_transaction:
            self.conn.execute("BEGIN")
        for stmt in statements:
            rollback_error = self._execute(stmt.text)
            if rollback_error is not None:
                error_at = stmt
                break
        if rollback_error is None:
            rollback_error = self._commit_if_open()
        if rollback_error is not None:
            report.rollback = "failed"
            findings.append(self._finding(
                "SL506", down_file, error_at, f"The rollback fails after the migration: {rollback_error}",
                "Fix the rollback so it undoes exactly what the migration did, in reverse order."))
        else:
            diffs = catalog.differences(before, catalog.snapshot(self.monitor))
            report.rollback = "differs" if diffs else "restored"
            if diffs:
                where = statements[0] if statements else None
                findings.append(self._finding(
                    "SL505", down_file, where,
                    "Applying the migration and then its rollback leaves the schema different from before: "
                    + "; ".join(diffs[:20]) + (f"; and {len(diffs) - 20} more" if len(diffs) > 20 else ""),
                    "Make the rollback undo every change of the migration (and nothing else)."))
        # put the migration back, so the files after it see the schema they expect
        self.apply_plain(forward, transaction)
        return [f for f in findings if f is not None]

    def _rollback(self, prepared: PreparedFile, rollback_files: dict[str, PreparedFile]) -> Rollback | None:
        """The file's rollback (guide comment block, down section, or sibling down file), with its first
        syntax error, if any."""
        file, text = prepared.source.display, prepared.text
        assert prepared.parsed is not None and text is not None
        candidates: list[tuple[str, list[Statement], list[SyntaxProblem], SourceText]] = []
        if prepared.rollback is not None:
            candidates.append((file, prepared.rollback.statements, prepared.rollback.errors, text))
        down_start = prepared.sections.down_start
        if down_start is not None:
            candidates.append((file, [s for s in prepared.parsed.statements if s.section == "down"],
                               [e for e in prepared.parsed.errors if e.offset >= down_start], text))
        sibling = rollback_files.get(file)
        if sibling is not None and sibling.parsed is not None and sibling.text is not None:
            candidates.append((sibling.source.display, sibling.parsed.statements, sibling.parsed.errors,
                               sibling.text))
        for where, statements, errors, source in candidates:
            if statements or errors:
                first = min(errors, key=lambda e: e.offset, default=None)
                error = None if first is None else (source.span(first.offset, first.offset + 1), first.message)
                return Rollback(where, statements, error)
        return None

    def _observe(self, stmt: Statement, watched: dict[int, observe.Relation],
                 in_user_tx: bool) -> tuple[observe.Observation, str | None]:
        result = observe.Observation()
        autocommit = self.needs_autocommit(stmt)
        wrap = not in_user_tx and not autocommit
        if wrap:
            self.conn.execute("BEGIN")
        nodes_before = observe.relfilenodes(self.conn, watched)
        if not autocommit:
            locks_before = observe.held_locks(self.monitor, self.pid, watched)
            scans_before = observe.scan_counts(self.conn, watched)
        started = time.perf_counter()
        error = self._execute(stmt.text)
        result.milliseconds = (time.perf_counter() - started) * 1000
        if error is not None:
            return result, error
        nodes_after = observe.relfilenodes(self.conn, watched)
        result.rewritten = [watched[oid].name for oid, node in nodes_after.items() if nodes_before.get(oid) != node]
        if autocommit:
            result.observed = False
        else:
            locks_after = observe.held_locks(self.monitor, self.pid, watched)
            scans_after = observe.scan_counts(self.conn, watched)
            for oid, mode in locks_after.items():
                if mode > locks_before.get(oid, LockMode.ACCESS_SHARE) or oid not in locks_before:
                    result.locks[watched[oid].name] = mode
            result.scanned = [watched[oid].name for oid, n in scans_after.items() if n > scans_before.get(oid, 0)]
            row = self.conn.execute("SELECT pg_catalog.current_setting('lock_timeout')").fetchone()
            result.lock_timeout = str(row[0]) if row else "0"
        if wrap:
            commit_error = self._execute("COMMIT")
            if commit_error is not None:
                return result, commit_error
        return result, None

    def _judge(self, file: str, stmt: Statement, seen: observe.Observation | None) -> list[Finding | None]:
        if seen is None:
            return []
        out: list[Finding | None] = []
        if seen.rewritten:
            out.append(self._finding(
                "SL502", file, stmt,
                f"Observed a rewrite: {', '.join(seen.rewritten)} got a new relfilenode (rewritten, or truncated) — "
                f"every row was copied while the statement held its lock",
                "See the static finding on this statement for the no-rewrite recipe."))
        no_timeout = seen.lock_timeout in ("0", "", "0ms")
        blocking = {name: mode for name, mode in seen.locks.items() if mode >= LockMode.SHARE}
        if blocking and no_timeout:
            listed = ", ".join(f"{mode.label} on {name} (blocks {mode.blocks})" for name, mode in blocking.items())
            out.append(self._finding(
                "SL503", file, stmt, f"Observed lock with no lock_timeout in effect: {listed}",
                "SET lock_timeout = '5s'; before the statement, so it gives up instead of queueing every query "
                "behind it."))
        scanned_blocking = [t for t in seen.scanned if seen.locks.get(t, LockMode.ACCESS_SHARE) >= LockMode.SHARE]
        if scanned_blocking:
            out.append(self._finding(
                "SL504", file, stmt,
                f"Observed a full scan of {', '.join(scanned_blocking)} while holding a lock that blocks writes "
                f"({', '.join(seen.locks[t].label for t in scanned_blocking)})",
                "Split the change so the scan runs under a weaker lock (NOT VALID + VALIDATE CONSTRAINT, "
                "CREATE INDEX CONCURRENTLY, a CHECK before SET NOT NULL)."))
        return out
