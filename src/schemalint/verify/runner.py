"""Apply migrations in order on a real server and turn what it observes into SL501-SL506 findings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from schemalint.config import Settings
from schemalint.durations import guc_milliseconds
from schemalint.engine import PreparedFile, RunResult
from schemalint.findings import Finding, Severity, Span
from schemalint.model.locks import LockMode
from schemalint.rules import all_rules
from schemalint.sources.runners import AUTOCOMMIT, in_one_transaction, transaction_of
from schemalint.sql.parse import Statement, SyntaxProblem
from schemalint.sql.scan import one_line
from schemalint.sql.text import SourceText
from schemalint.sql.transactions import refused_in_transaction
from schemalint.verify import catalog, observe
from schemalint.verify.fill import Filler
from schemalint.verify.impact import Impact
from schemalint.verify.probe import Probe, tables_named
from schemalint.verify.progress import Progress, Silent
from schemalint.verify.scale import RowsPolicy, parse_estimate
from schemalint.verify.server import ServerError, clip
from schemalint.verify.timeouts import Limits, Watch, describe, describe_size, guarded

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


def _threshold(value: object, default_ms: float) -> float:
    """A configured SL507 threshold; "0" reports any wait at all."""
    milliseconds = guc_milliseconds(value)
    return default_ms if milliseconds is None else milliseconds


class Verifier:
    """Applies statements on the ``migrator`` connection (an unprivileged role unless --allow-superuser)
    and observes them over ``monitor``, a separate session the migration cannot influence. Only what is
    visible inside the migrator's own open transaction (new relfilenodes, its scan counters, its
    lock_timeout) is read on the migrator's connection, with every name qualified."""

    def __init__(self, conn: Any, settings: Settings, enabled: set[str], limits: Limits, *,
                 monitor: Any | None = None, progress: Progress | None = None, privileged: bool = False,
                 filler: Filler | None = None, probe: Probe | None = None, policy: RowsPolicy | None = None) -> None:
        self.conn = conn
        self.filler = filler
        self.probe = probe
        self.policy = policy
        self.trace: list[dict[str, Any]] = []
        self.blocked_writes_ms = _threshold(settings.option("verify", "blocked-threshold"), 1000.0)
        self.blocked_reads_ms = _threshold(settings.option("verify", "blocked-threshold-reads"), 200.0)
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
        self.impact: Impact | None = None  # --queries / --rows: what the migration does to queries and writes
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
        if (sqlstate == "57014" and watch.cancelled_by == "size") or (
                sqlstate == "53400" and "temp_file_limit" in str(exc) and self.limits.max_cluster_bytes):
            # the folder watcher, or temp_file_limit, which verify sets to the same size: either way the cap
            self.out_of_time = True  # the cluster is full: nothing after this could be applied either
            return (f"stopped: the scratch cluster passed {describe_size(self.limits.max_cluster_bytes or 0)} "
                    f"(max-cluster-size) while this statement ran; it was stopped, and so was verify")
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
        result = RunResult(verified=True)
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
                mode = transaction_of(prepared.source, self.settings.assume_in_transaction)
                one = in_one_transaction(mode, forward, self.settings.target_postgres)
                error = self.apply_plain(forward, mode if one else AUTOCOMMIT)
                if error is not None:
                    self.incomplete.append(f"{file} (history): {error}")
                continue
            self._fill_for(file, forward)
            relations = {rel.name for rel in observe.relations(self.monitor).values()} if self.impact else set()
            before = self.impact.before(forward, relations, self.settings.default_schema) if self.impact else None
            result.findings.extend(self.verify_file(prepared, forward, rollback_files, syntax,
                                                    complete=syntax_line is None))
            if self.impact is not None and before is not None:
                now = {rel.name for rel in observe.relations(self.monitor).values() if rel.is_index}
                result.findings.extend(self.impact.after(file, forward, before, sorted(now - relations)))
        result.incomplete.extend(self.incomplete)
        result.findings.sort(key=Finding.sort_key)
        return result

    def _fill_for(self, file: str, statements: list[Statement]) -> None:
        """--rows: synthetic rows in the pre-existing tables this file touches (each table once per run)."""
        if self.filler is None:
            return
        existing = {rel.name for rel in observe.relations(self.monitor).values() if rel.kind in ("r", "p")}
        named: set[str] = set()
        for stmt in statements:
            named |= tables_named(stmt.node, self.settings.default_schema)
        for problem in self.filler.fill(sorted(named & existing)):
            self.incomplete.append(f"{file}: {problem}")

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
        one_transaction = in_one_transaction(transaction, forward, self.settings.target_postgres)
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
                self._trace(file, stmt, row.observation, row.error)
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
        if not failed:
            findings.append(self._duration_estimate(prepared, report.rows))
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
        probed = self._probed_tables(stmt, watched)
        if self.probe is not None and probed:
            with self.probe.around(probed) as running:
                started = time.perf_counter()
                error = self._execute(stmt.text)
                result.milliseconds = (time.perf_counter() - started) * 1000
            if running.error is not None:
                self.incomplete.append(f"line {stmt.span.line}: the probe could not measure ({running.error})")
            # the probe's last round may end just after the statement: a wait is never longer than the statement
            cap = result.milliseconds
            result.blocked = {t: (min(b.read_ms, cap), min(b.write_ms, cap)) for t, b in running.result.tables.items()}
        else:
            started = time.perf_counter()
            error = self._execute(stmt.text)
            result.milliseconds = (time.perf_counter() - started) * 1000
        if error is not None:
            return result, error
        nodes_after = observe.relfilenodes(self.conn, watched)
        result.rewritten = observe.rewritten(self.conn, watched, nodes_before, nodes_after)
        indexes = {rel.name for rel in watched.values() if rel.is_index}
        result.rebuilt_indexes_only = all(name in indexes for name in result.rewritten)
        if autocommit:
            result.observed = False
        else:
            locks_after = observe.held_locks(self.monitor, self.pid, watched)
            scans_after = observe.scan_counts(self.conn, watched)
            for oid, mode in locks_after.items():
                if mode > locks_before.get(oid, LockMode.ACCESS_SHARE) or oid not in locks_before:
                    result.locks[watched[oid].name] = mode
            result.scanned = [watched[oid].name for oid, n in scans_after.items() if n > scans_before.get(oid, 0)]
            if result.blocked:  # what the probe saw, for the relations the statement did lock
                result.blocked = {t: v for t, v in result.blocked.items() if t in result.locks}
            locked = [oid for oid, rel in watched.items() if rel.name in result.locks and not rel.is_index]
            result.rows_before = observe.row_estimates(self.monitor, locked)
            row = self.conn.execute("SELECT pg_catalog.current_setting('lock_timeout')").fetchone()
            result.lock_timeout = str(row[0]) if row else "0"
        if wrap:
            commit_error = self._execute("COMMIT")
            if commit_error is not None:
                return result, commit_error
        return result, None

    def _blocked_queries(self, file: str, stmt: Statement, seen: observe.Observation) -> Finding | None:
        """SL507: the probe's reads or writes on a pre-existing table waited longer than the thresholds."""
        if not seen.blocked:
            return None
        read_ms = max(r for r, _ in seen.blocked.values())
        write_ms = max(w for _, w in seen.blocked.values())
        if write_ms <= self.blocked_writes_ms and read_ms <= self.blocked_reads_ms:
            return None
        tables = ", ".join(seen.blocked)
        rows = sum(seen.rows_before.get(t, 0) for t in seen.blocked)
        writes = (f"INSERTs into {tables} waited {_seconds(write_ms)}" if write_ms else
                  f"INSERTs into {tables} were not blocked")
        reads = f"SELECTs waited {_seconds(read_ms)}" if read_ms else "SELECTs were not blocked"
        return self._finding(
            "SL507", file, stmt,
            f"while {one_line(stmt.text, 60)} ran for {_seconds(seen.milliseconds)} on {rows:,} rows, {writes}; {reads}",
            "See the static finding on this statement for the recipe that keeps the application's queries "
            "running (CONCURRENTLY, NOT VALID + VALIDATE, a new column and a batched backfill).")

    def _trace(self, file: str, stmt: Statement, seen: observe.Observation | None, error: str | None) -> None:
        entry: dict[str, Any] = {"file": file, "line": stmt.span.line, "statement": one_line(stmt.text, 200)}
        if seen is not None:
            entry.update({
                "ms": round(seen.milliseconds, 3),
                "rows_before": dict(seen.rows_before),
                "locks": [{"relation": name, "mode": mode.label} for name, mode in _strongest_first(seen)],
                "rewrites": list(seen.rewritten),
                "scans": list(seen.scanned),
                "observed": seen.observed,
            })
            if seen.blocked:
                entry["blocked"] = {"read_ms": round(max(r for r, _ in seen.blocked.values()), 3),
                                    "write_ms": round(max(w for _, w in seen.blocked.values()), 3),
                                    "tables": sorted(seen.blocked)}
        if error is not None:
            entry["error"] = error
        self.trace.append(entry)

    def _duration_estimate(self, prepared: PreparedFile, rows: list[StatementRow]) -> Finding | None:
        """SL508: with --rows, the file's measured time scaled to production rows against its header's
        Estimated Duration."""
        if self.policy is None or self.filler is None or prepared.text is None:
            return None
        from schemalint.rules.migration_file import header_fields

        estimate_text = header_fields(prepared.text.text).get("estimated duration")
        if not estimate_text:
            return None
        measured = sum(r.observation.milliseconds for r in rows if r.observation is not None) / 1000
        used = {t: n for t, n in self.filler.done.rows.items() if n}
        ratios = [(p / used[t], t) for t in used if (p := self.policy.production_for(t)) is not None]
        factor, table = max(ratios, default=(1.0, ""))
        scaled = measured * max(factor, 1.0)
        line = next((i + 1 for i, text in enumerate(prepared.text.text.splitlines())
                     if "estimated duration" in text.lower()), 1)
        span = Span(line, 1, line, 1)
        estimate = parse_estimate(estimate_text)
        if estimate is None:
            return self._finding(
                "SL508", prepared.source.display, None,
                f"The header's Estimated Duration {estimate_text!r} cannot be read as a duration (measured "
                f"{scaled:.1f} s at production scale)", "Write it as the guide does: `< 1 minute`, `~5 minutes`, "
                "`30 seconds`, `2h`.", span)
        if scaled <= estimate:
            return None
        how = (f"{measured:.2f} s on {used[table]:,} rows of {table}, × {factor:,.0f} for its "
               f"{self.policy.production_for(table):,} production rows" if factor > 1 else f"{measured:.2f} s")
        return self._finding(
            "SL508", prepared.source.display, None,
            f"Estimated Duration says {estimate_text.strip()}, but verify measured {scaled:.1f} s ({how})",
            "Update the estimate (and the Risk Assessment), or split the migration so each step is short.", span)

    def _probed_tables(self, stmt: Statement, watched: dict[int, observe.Relation]) -> list[str]:
        """The pre-existing tables the statement names: where the probe reads and writes while it runs."""
        if self.probe is None:
            return []
        tables = {rel.name for rel in watched.values() if rel.kind in ("r", "p")}
        return sorted(tables_named(stmt.node, self.settings.default_schema) & tables)

    def _judge(self, file: str, stmt: Statement, seen: observe.Observation | None) -> list[Finding | None]:
        if seen is None:
            return []
        out: list[Finding | None] = [self._blocked_queries(file, stmt, seen)]
        if seen.rewritten and seen.rebuilt_indexes_only:
            out.append(self._finding(
                "SL502", file, stmt,
                f"Observed an index rebuild: {', '.join(seen.rewritten)} got a new relfilenode — built again from "
                f"every row of the table while the statement held its lock (the table itself was not rewritten)",
                "See the static finding on this statement for the recipe."))
        elif seen.rewritten:
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


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _strongest_first(seen: observe.Observation) -> list[tuple[str, LockMode]]:
    return sorted(seen.locks.items(), key=lambda item: (-item[1], item[0]))
