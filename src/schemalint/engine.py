"""The one loop: for each file in migration order, for each forward statement, every enabled
rule judges it against what is true before it; then the schema model takes it in."""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import os
import sys
import threading
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from schemalint.config import Settings
from schemalint.context import Context
from schemalint.findings import Edit, Finding, Hit, Severity, Span, merge_findings, merge_hits
from schemalint.model import replay
from schemalint.model.locks import LockMode
from schemalint.model.schema import SchemaModel
from schemalint.rules import all_rules, family_of, resolve
from schemalint.rules.base import Rule
from schemalint.sources.files import SourceFile, read
from schemalint.sources.runners import RUNNERS, Runner, transaction_of
from schemalint.sql.names import quote_ident
from schemalint.sql.parse import (
    ParsedSql,
    ParseError,
    Statement,
    blank_outside,
    parse,
    parse_embedded,
)
from schemalint.sql.plpgsql import (
    BodyFacts,
    analyse_body,
    do_block_body,
    embedded_sql,
    opaque_sql,
)
from schemalint.sql.scan import one_line
from schemalint.sql.sections import Sections, find_sections
from schemalint.sql.suppress import Suppressions, find_suppressions
from schemalint.sql.text import SourceText
from schemalint.sql.versions import newer_grammar


class Cancelled(BaseException):
    """The run was stopped from outside (``Engine.stop``): its results are wanted no more. A BaseException, like
    asyncio's CancelledError, so no ``except Exception`` that keeps a run going swallows it."""


@dataclass(frozen=True, slots=True)
class InternalError:
    file: str
    line: int
    column: int
    rule: str
    message: str


@dataclass(slots=True)
class RunResult:
    findings: list[Finding] = field(default_factory=list)
    internal_errors: list[InternalError] = field(default_factory=list)
    files: int = 0
    found: int = 0  # files the run read, history included (``files``: those reported on)
    incomplete: list[str] = field(default_factory=list)  # "file: what was not checked or applied, and why"
    runner: str | None = None  # "goose (detected from -- +goose markers)"
    tenancy: str | None = None  # "on (detected from accounts.tenant_id)"; None when the tenancy rules are off
    notes: list[str] = field(default_factory=list)  # for the summary, e.g. files not checked (pattern)
    trace: list[dict[str, Any]] | None = None  # verify: what each statement did on the server
    verified: bool = False  # from `verify`: the findings are what the server showed, not the static rules
    not_fixable: dict[str, str] = field(default_factory=dict)  # file → why --fix must never write it
    impact: dict[str, list[dict[str, Any]]] | None = None  # verify --queries/--rows: queries and writes before/after
    claims: list[dict[str, Any]] | None = None  # verify: check's lock/rewrite/scan claims against the server's
    risk: list[dict[str, Any]] | None = None  # verify: the risk level measured per file, and what its header said


@dataclass(slots=True)
class PreparedFile:
    """A file parsed and split into forward and rollback statements (no rule has run yet)."""

    source: SourceFile
    text: SourceText | None = None
    error: str | None = None
    parsed: ParsedSql | None = None
    sections: Sections = field(default_factory=lambda: Sections(None, None, None, None))
    rollback: ParsedSql | None = None  # the rollback SQL kept in a comment (guide layout)


def baseline_notes(source: SourceFile, findings: list[Finding]) -> list[str]:
    """A baseline's syntax errors, as one line each for the summary (they are not findings)."""
    if not source.baseline:
        return []
    return [f"{source.display} (baseline): {f.message} at line {f.span.line}; the statements after it were still "
            f"read" for f in findings if f.code in ("SL001", "SL002")]


def prepare(source: SourceFile) -> PreparedFile:
    try:
        return _prepare(source)
    except (RecursionError, MemoryError, ValueError) as exc:
        # the parser's own limits (e.g. extreme nesting): one clear error for the file, never a traceback
        return PreparedFile(source, error=f"cannot be parsed: {type(exc).__name__}: {exc}")


def _prepare(source: SourceFile) -> PreparedFile:
    decoded = read(source)
    prepared = PreparedFile(source)
    if decoded.text is None:
        prepared.error = decoded.error
        return prepared
    text = SourceText(decoded.text)
    prepared.text = text
    if source.path is not None:
        source.data = None  # the decoded text is kept instead (a large file is not held twice)
    prepared.parsed = parse(decoded.text, text)
    sections = find_sections(decoded.text)
    prepared.sections = sections
    if source.role == "down":
        for stmt in prepared.parsed.statements:
            stmt.section = "down"
    elif sections.down_start is not None:
        for stmt in prepared.parsed.statements:
            if stmt.start >= sections.down_start:
                stmt.section = "down"
        if sections.style == "guide" and sections.rollback_sql and sections.rollback_offset is not None:
            # Parse the commented-out rollback in place, so its errors keep their real lines.
            start = sections.rollback_offset
            blanked = blank_outside(decoded.text, start, start + len(sections.rollback_sql))
            prepared.rollback = parse(blanked, SourceText(blanked))
    return prepared


class Engine:
    def __init__(self, settings: Settings, enabled: set[str]) -> None:
        self.settings = settings
        self.enabled = enabled
        self.rules = all_rules()
        self.model = SchemaModel(default_schema=settings.default_schema)
        self.runner: Runner = RUNNERS["psql"]  # set by the run once the runner is chosen (runners.py)
        # verify: (file, line) → the lock the lock table says each statement takes per existing table (None: off)
        self.locks_claimed: dict[tuple[str, int], dict[str, LockMode]] | None = None
        self.stop: threading.Event | None = None  # set by whoever no longer wants this run (an editor's stale lint)
        self.by_kind: dict[str, list[Rule]] = {}
        self.any_kind: list[Rule] = []
        self.finishers: list[Rule] = []
        self._for_kind: dict[str, tuple[Rule, ...]] = {}  # by_kind's rules then any_kind's, per statement kind
        for rule in self.rules.values():
            if rule.code not in enabled:
                continue
            if rule.check is not None:
                if rule.kinds is None:
                    self.any_kind.append(rule)
                else:
                    for kind in rule.kinds:
                        self.by_kind.setdefault(kind, []).append(rule)
            if rule.finish is not None:
                self.finishers.append(rule)

    def run(self, prepared_files: Iterable[PreparedFile]) -> RunResult:
        result = RunResult()
        for prepared in prepared_files:
            result.files += 1 if prepared.source.judged else 0  # files reported on (history is only read)
            findings, errors = self.lint_file_safely(prepared)
            if prepared.source.judged:
                result.findings.extend(findings)
                result.internal_errors.extend(errors)
            else:
                result.incomplete.extend(baseline_notes(prepared.source, findings))
        result.findings.sort(key=Finding.sort_key)
        return result

    def lint_file_safely(self, prepared: PreparedFile) -> tuple[list[Finding], list[InternalError]]:
        """lint_file, but a bug outside the rules becomes an internal error for this file, not a crash."""
        try:
            return self.lint_file(prepared)
        except Exception as exc:
            return [], [InternalError(prepared.source.display, 1, 1, "engine", _describe(exc))]

    def replay(self, prepared: PreparedFile) -> None:
        """Take a file into the schema model without judging it (its findings come from the cache)."""
        with contextlib.suppress(Exception):
            self.lint_file(prepared, judge=False)

    # ------------------------------------------------------------------------------------
    def lint_file(self, prepared: PreparedFile, judge: bool = True) -> tuple[list[Finding], list[InternalError]]:
        """Judge one file's forward statements in order (``judge=False``: only advance the model)."""
        source = prepared.source
        if prepared.text is None or prepared.parsed is None:
            return [self._finding("SL002", source.display, Span(1, 1, 1, 1), prepared.error or "unreadable file",
                                  "Save the file as UTF-8 text.")], []
        parsed = prepared.parsed
        suppressions = find_suppressions(prepared.text, parsed.statements, resolve)
        raw = self._file_problems(prepared, suppressions)
        for number, stmt in enumerate(parsed.statements):
            stmt.number = number
        forward = [s for s in parsed.statements if s.section == "up"]
        rollback = [s for s in parsed.statements if s.section == "down"]
        if prepared.rollback is not None:
            rollback.extend(prepared.rollback.statements)
        ctx = Context(
            file=source.display, source=prepared.text, statements=forward, settings=self.settings, model=self.model,
            sections=prepared.sections, rollback_statements=rollback, has_rollback_file=source.down_sibling is not None,
            run_mode=transaction_of(source, self.settings.assume_in_transaction),
            runner=self.runner, at_ref=source.at_ref,
        )
        errors: list[InternalError] = []
        if source.baseline and not parsed.errors and parsed.template is None:
            self.model.complete = True
        if source.role == "up":
            reported_once: set[tuple[str, int]] = set()
            down_start = prepared.sections.down_start
            # heads of statements that failed to parse still create their object, in file order
            recovered = [r for r in parsed.recovered if down_start is None or r.start < down_start]
            for index, stmt in enumerate(forward):
                if self.stop is not None and self.stop.is_set():
                    raise Cancelled(source.display)
                while recovered and recovered[0].start < stmt.start:
                    self._apply(recovered.pop(0), ctx)
                ctx.index = index
                if judge and parsed.template is None:  # a template's statements are only taken into the model
                    raw.extend(self._judge(stmt, stmt, ctx, errors, reported_once))
                    if self.locks_claimed is not None:
                        self._claim_locks(stmt, ctx)
                raw.extend(self._run_embedded(stmt, ctx, errors, judge and parsed.template is None, raw, reported_once))
                ctx.advance(stmt)
                self._apply(stmt, ctx)
                stmt.release()
            for head in recovered:
                self._apply(head, ctx)
            for rule in self.finishers if judge and parsed.template is None else ():
                by_statement: dict[int | None, list[Hit]] = {}
                for hit in self._finish(rule, ctx, errors):
                    by_statement.setdefault(_statement_at(parsed.statements, hit.location), []).append(hit)
                for at, hits in by_statement.items():
                    merged = hits[0] if len(hits) == 1 else merge_hits(hits, prepared.text.text)
                    raw.append((self._from_hit(rule, source.display, prepared.text, None, merged), at))
        findings = [f for f, number in _one_per_statement(raw, prepared.text.text) if self._keep(f, number, suppressions)]
        return findings, errors

    def _claim_locks(self, stmt: Statement, ctx: Context) -> None:
        """For verify: the lock this statement takes on each existing table, from the one lock table every rule's
        message uses (``model/locks.py``), keyed by (file, line) and spelled as the catalogue spells names."""
        held: dict[str, LockMode] = {}
        for lock in ctx.locks(stmt):
            if lock.index_of_unknown_table or ctx.is_new(lock.table):
                continue
            name = f"{quote_ident(lock.table[0])}.{quote_ident(lock.table[1])}"
            held[name] = max(held.get(name, lock.mode), lock.mode)
        if held:
            assert self.locks_claimed is not None
            self.locks_claimed[(ctx.file, stmt.span.line)] = held

    def _file_problems(self, prepared: PreparedFile, suppressions: Suppressions) -> list[tuple[Finding, int | None]]:
        """SL001 (forward and rollback SQL) and SL003 (suppression comments) of a file."""
        assert prepared.text is not None and prepared.parsed is not None
        file, text = prepared.source.display, prepared.text
        raw: list[tuple[Finding, int | None]] = []
        template = prepared.parsed.template
        if template is not None:  # one finding for the file, not one per templated statement
            span = text.span(template.offset, template.offset + 1)
            raw.append((self._finding("SL001", file, span, template.message,
                                      "Lint the rendered SQL (e.g. the output of your template step), or exclude "
                                      "templates with exclude = [\"…\"]."), None))
        for problem in prepared.parsed.errors if template is None else ():
            span = text.span(problem.offset, problem.offset + 1)
            raw.append((self._finding("SL001", file, span, problem.message,
                                      "Fix the statement so PostgreSQL can parse it."), None))
        for problem in prepared.rollback.errors if prepared.rollback is not None else ():
            span = text.span(problem.offset, problem.offset + 1)
            raw.append((self._finding("SL001", file, span, f"in the rollback section: {problem.message}",
                                      "Fix the rollback SQL so it can be run when needed."), None))
        target = self.settings.target_postgres
        for stmt in prepared.parsed.statements if template is None else ():
            newer = newer_grammar(stmt, target)
            if not newer:
                continue  # one finding per statement: the first feature is located, every one is named
            at = stmt.offset_of(newer[0].location) if newer[0].location is not None else stmt.start
            needs = "; ".join(f"{n.feature} needs PostgreSQL {n.version}" for n in newer)
            newest = max(n.version for n in newer)
            raw.append((self._finding(
                "SL001", file, text.span(at, at + 1),
                f"{needs}: on PostgreSQL {target} (target-postgres) this statement is a syntax error",
                f"Write it the way PostgreSQL {target} accepts, or raise target-postgres if every server that runs "
                f"these migrations is PostgreSQL {newest} or newer."), None))
        for start, end, message in suppressions.problems:
            raw.append((self._finding("SL003", file, text.span(start, end), message,
                                      "Use `-- schemalint: ignore CODE` with codes from `schemalint rules`."), None))
        return raw

    def _judge(self, stmt: Statement, enclosing: Statement, ctx: Context, errors: list[InternalError],
               reported_once: set[tuple[str, int]] | None) -> list[tuple[Finding, int | None]]:
        """Every enabled rule on one statement; findings are tied to ``enclosing`` for suppressions."""
        out: list[tuple[Finding, int | None]] = []
        rules = self._for_kind.get(stmt.kind)
        if rules is None:
            rules = self._for_kind[stmt.kind] = (*self.by_kind.get(stmt.kind, ()), *self.any_kind)
        for rule in rules:
            key: tuple[str, int] | None = None
            if rule.once_per is not None and reported_once is not None:
                key = (rule.code, 0 if rule.once_per == "file" else ctx.transaction.serial)
                if key in reported_once:
                    continue
            try:
                hits = list(rule.check(stmt, ctx))  # type: ignore[misc]  # by_kind/any_kind rules have one
            except Exception as exc:
                line, column = ctx.source.position(stmt.start)
                errors.append(InternalError(ctx.file, line, column, rule.code, _describe(exc)))
                continue
            if not hits:
                continue
            if len(hits) > 1:  # one finding per statement and rule
                hits = [merge_hits(hits, ctx.source.text)]
            if key is not None and reported_once is not None:
                reported_once.add(key)
            out.extend((self._from_hit(rule, ctx.file, ctx.source, stmt, hit), enclosing.number) for hit in hits)
        return out

    def _run_embedded(self, stmt: Statement, ctx: Context, errors: list[InternalError], judge: bool,
                      raw: list[tuple[Finding, int | None]],
                      reported_once: set[tuple[str, int]] | None = None) -> list[tuple[Finding, int | None]]:
        """Judge and apply the statements a DO block or a called function runs, as one transaction; when it
        also runs dynamic SQL with DDL, say so on the findings of the enclosing statement."""
        embedded, opaque = self._embedded(stmt, ctx)
        out: list[tuple[Finding, int | None]] = []
        for inner in embedded:
            with ctx.judging(inner):
                if judge:  # once-per-file rules (SL114) count the statements of the block too
                    out.extend(self._judge(inner, stmt, ctx, errors, reported_once))
                ctx.advance(inner)
                self._apply(inner, ctx)
        if opaque:
            raw[:] = [(_with_note(f, opaque) if n == stmt.number else f, n) for f, n in raw]
            out = [(_with_note(f, opaque), n) for f, n in out]
        return out

    def _apply(self, stmt: Statement, ctx: Context) -> None:
        # the model must never stop a run: a statement it cannot take in is just not recorded (try/except,
        # not contextlib.suppress: this runs for each of a long DO block's 190,000 statements)
        try:  # noqa: SIM105
            replay.apply(self.model, stmt, ctx.file, ctx.transaction.serial)
        except Exception:  # see above
            pass

    def _embedded(self, stmt: Statement, ctx: Context) -> tuple[Iterator[Statement], list[tuple[int, str]]]:
        """Statements run by a DO block, or by a function/procedure created in this file and called here (parsed
        one at a time as they are judged: a long body's trees are never all held at once), and the dynamic SQL
        with DDL among them."""
        bodies: list[tuple[str, str, int | None]] = []  # (body, language, file offset)
        if stmt.kind == "DoStmt":
            body, language = do_block_body(stmt.node)
            if body is not None:
                found = stmt.text.find(body)
                bodies.append((body, language.lower(), stmt.start + found if found >= 0 else None))
        else:
            for parts, routine in self.model.routines_called(stmt.kind, stmt.node, ctx.file):
                # a routine's statements sit at the same lines whichever call runs them: they are judged
                # (and taken into the model) at its first call in the file, not again at every call
                key = f"{'.'.join(parts)}@{routine.body_offset}"
                if key in ctx.routines_run:
                    continue
                ctx.routines_run.add(key)
                bodies.append((routine.body or "", routine.language.lower(), routine.body_offset))
        analysed: list[tuple[str, int | None, BodyFacts | None]] = []
        opaque: list[tuple[int, str]] = []
        for body, language, offset in bodies:
            if language not in ("sql", "plpgsql"):
                continue
            facts = analyse_body(body) if language == "plpgsql" else None
            if language == "plpgsql" and facts is None:
                continue
            analysed.append((body, offset, facts))
            if facts is not None:
                base_line = ctx.source.position(offset if offset is not None else stmt.start)[0]
                opaque.extend((base_line + lineno - 1, expr) for lineno, expr in opaque_sql(facts))
        return self._statements_of(analysed, stmt, ctx.source), opaque

    @staticmethod
    def _statements_of(analysed: list[tuple[str, int | None, BodyFacts | None]], stmt: Statement,
                       source: SourceText) -> Iterator[Statement]:
        for body, offset, facts in analysed:
            if facts is None:  # LANGUAGE sql: the body is plain statements
                yield from _parse_at(body, offset, stmt, source)
                continue
            for snippet in embedded_sql(body, facts, offset):
                for inner in _parse_at(snippet.text, snippet.offset, stmt, source):
                    inner.conditional = snippet.conditional
                    yield inner

    def _finish(self, rule: Rule, ctx: Context, errors: list[InternalError]) -> list[Hit]:
        assert rule.finish is not None
        try:
            return list(rule.finish(ctx))
        except Exception as exc:
            errors.append(InternalError(ctx.file, 1, 1, rule.code, _describe(exc)))
            return []

    def _keep(self, finding: Finding, statement: int | None, suppressions: Suppressions) -> bool:
        if finding.code not in self.enabled:
            return False
        if finding.code == "SL001":
            return True
        path = os.path.normpath(finding.file)  # "./migrations/x.sql" matches "migrations/*.sql"
        for pattern, codes in self.settings.per_file_ignores.items():
            matches = fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path.rsplit("/", 1)[-1], pattern)
            if matches and any(_code_matches(finding, c) for c in codes):
                return False
        return not suppressions.silences(finding.code, statement)

    def _severity(self, code: str) -> Severity:
        return self.settings.severity.get(code, self.rules[code].severity)

    def _finding(self, code: str, file: str, span: Span, message: str, help_text: str) -> Finding:
        rule = self.rules[code]
        return Finding(code, rule.name, self._severity(code), file, span, sys.intern(message), sys.intern(help_text))

    def _from_hit(self, rule: Rule, file: str, text: SourceText, stmt: Statement | None, hit: Hit) -> Finding:
        if stmt is not None:
            start = hit.location if hit.location is not None and stmt.start <= hit.location < stmt.end else stmt.start
            end = hit.end if hit.end is not None and start < hit.end <= stmt.end else stmt.end
            span = text.span(start, end)
        elif hit.location is not None:
            line_no, _ = text.position(hit.location)
            span = text.span(hit.location, max(hit.location + 1, text.line_starts[line_no - 1] + len(text.line_text(line_no))))
        else:
            span = Span(1, 1, 1, 1)
        # the same message, help and fix text recur across findings (one table, one recipe): each is kept
        # once (sys.intern), so a retained finding costs its span and a few references (benchmarks/hostile.py)
        fix = hit.fix
        if fix is not None:
            fix = Edit(fix.start, fix.end, sys.intern(fix.replacement), fix.safe)
        return Finding(rule.code, rule.name, self._severity(rule.code), file, span, sys.intern(hit.message),
                       sys.intern(hit.help), fix)


def _parse_at(snippet: str, offset: int | None, enclosing: Statement, source: SourceText) -> list[Statement]:
    try:
        if offset is not None and source.text.startswith(snippet, offset):
            return parse_embedded(snippet, offset, source)
        # not verbatim in the file (quoted body, blanked INTO): judge it at the enclosing statement
        moved = parse_embedded(snippet, 0, SourceText(snippet))
    except (ParseError, ValueError, RecursionError):
        return []
    for inner in moved:
        inner.start, inner.end, inner.source = enclosing.start, enclosing.end, source
        inner.byte_base = -(10**12)  # node locations then fall outside the statement: the engine uses its start
    return moved


def _one_per_statement(raw: list[tuple[Finding, int | None]], text: str) -> list[tuple[Finding, int | None]]:
    """A rule that spoke twice about one statement (the statement, and a statement its DO block runs) says it
    once: the catalogue's one finding per statement and rule."""
    groups: dict[tuple[str, int], list[Finding]] = {}
    for finding, number in raw:
        if number is not None:
            groups.setdefault((finding.code, number), []).append(finding)
    if all(len(group) == 1 for group in groups.values()):
        return raw
    out: list[tuple[Finding, int | None]] = []
    done: set[tuple[str, int]] = set()
    for finding, number in raw:
        if number is None:
            out.append((finding, number))
            continue
        key = (finding.code, number)
        if key in done:
            continue
        done.add(key)
        group = groups[key]
        out.append((group[0] if len(group) == 1 else merge_findings(group, text), number))
    return out


def _with_note(finding: Finding, opaque: list[tuple[int, str]]) -> Finding:
    line, expr = opaque[0]
    note = (f" (this block also runs dynamic SQL that schemalint cannot analyse: EXECUTE {one_line(expr, 60)} "
            f"at line {line})")
    return dataclasses.replace(finding, message=finding.message + note)


def _code_matches(finding: Finding, token: str) -> bool:
    upper = token.upper()
    return (upper == "ALL" or finding.code.startswith(upper) or finding.name == token.lower()
            or family_of(finding.code) == token.lower())


def _statement_at(statements: list[Statement], offset: int | None) -> int | None:
    if offset is None:
        return None
    for i, stmt in enumerate(statements):
        if stmt.start <= offset < max(stmt.end, stmt.start + 1):
            return i
    return None


def _describe(exc: BaseException) -> str:
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" ({frame.filename.rsplit('/', 1)[-1]}:{frame.lineno})" if frame else ""
    return f"internal error: {type(exc).__name__}: {exc}{where}"
