"""Orchestrates a verify run: sources and parsing as in ``check``, a server instead of the rules."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemalint.config import Settings
from schemalint.engine import RunResult, prepare
from schemalint.run import RunRequest, enabled_codes, gather
from schemalint.verify import observe
from schemalint.verify.claims import compare, static_claims
from schemalint.verify.fill import Filler
from schemalint.verify.impact import Impact, load_queries
from schemalint.verify.probe import Probe
from schemalint.verify.progress import Progress, Silent
from schemalint.verify.risk import file_risk, header_note, statement_risk
from schemalint.verify.runner import FileReport, Verifier
from schemalint.verify.sandbox import Sandbox, sandbox
from schemalint.verify.scale import policy_from, read_reltuples
from schemalint.verify.server import (
    Connection,
    ServerError,
    clip,
    existing_server,
    find_bindir,
    throwaway_cluster,
)
from schemalint.verify.timeouts import Limits, describe, describe_size


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    dsn: str | None = None
    pg_bin: str | None = None
    pg_user: str | None = None
    statement_timeout: float = 60.0  # seconds, enforced by the client
    timeout: float | None = None  # seconds for the whole run
    allow_superuser: bool = False  # run the migrations as the admin role: only for trusted repositories
    progress: Progress = field(default_factory=Silent)
    notice: Callable[[str], None] | None = None  # one-line notes for the user (leftover clusters removed, …)
    rows: int | None = None  # --rows N: synthetic rows per pre-existing table a file touches
    rows_from: str | None = None  # --rows-from DSN: row counts per table from a staging database
    max_rows: int | None = None
    probe: bool = False  # --probe: measure how long concurrent reads and writes are blocked
    max_cluster_bytes: int | None = 2 * 1024**3  # --max-cluster-size: the throwaway cluster's disk, at most
    queries: list[str] | None = None  # --queries: files of the application's statements, timed before and after


@contextlib.contextmanager
def server(options: VerifyOptions) -> Iterator[Connection]:
    if options.dsn:
        yield existing_server(options.dsn)
    else:
        with throwaway_cluster(find_bindir(options.pg_bin), options.pg_user, notice=options.notice,
                               max_bytes=options.max_cluster_bytes) as conn:
            yield conn


@contextlib.contextmanager
def scratch(options: VerifyOptions) -> Iterator[Sandbox]:
    """The server (throwaway or --dsn) with this run's scratch database and unprivileged role on it."""
    with server(options) as connection, sandbox(connection, options.allow_superuser, options.notice) as box:
        yield box


def verify(request: RunRequest, options: VerifyOptions) -> tuple[RunResult, list[FileReport], dict[str, str]]:
    import psycopg

    settings: Settings = request.settings
    enabled = enabled_codes(settings)
    gathered = gather(request)
    files, runner = gathered.files, gathered.runner
    prepared = [prepare(f) for f in files]
    rollback_files = {}
    for p in prepared:
        if p.source.role == "down" and p.source.up_sibling is not None:
            up_display = _display_of(p.source.display, p.source.up_sibling)
            rollback_files[up_display] = p
    claims = static_claims(request)  # what check says each statement does, to set beside what the server shows
    rows_from = read_reltuples(options.rows_from) if options.rows_from else None
    policy = policy_from(settings, options.rows, rows_from, options.max_rows)
    with scratch(options) as box, options.progress:
        # the run's clock starts when the server is ready: --timeout bounds applying the migrations
        limits = Limits.start(options.statement_timeout, options.timeout, box.folder, options.max_cluster_bytes)
        try:
            monitor = psycopg.connect(**box.monitor, autocommit=True)
            conn = psycopg.connect(**box.migrator, autocommit=True)
        except psycopg.Error as exc:
            raise ServerError(f"cannot connect to {box.description}: {clip(str(exc))}") from None
        with monitor, conn, _probe(options, box) as probe:
            filler = None
            if policy is not None:
                filler = Filler(conn, policy.rows_for, policy.tenants, str(settings.option("tenancy", "column")),
                                note=options.progress.filling)
            verifier = Verifier(conn, settings, enabled, limits, monitor=monitor, progress=options.progress,
                                privileged=options.allow_superuser, filler=filler, probe=probe, policy=policy)
            if probe is not None and filler is not None:
                probe.insert_sql = filler.insert_probe_sql
            verifier.impact = _impact(options, settings, conn, verifier, filler)
            result = verifier.run(prepared, rollback_files)
            if verifier.impact is not None:
                result.impact = verifier.impact.records
            result.runner = runner.summary
            version = conn.info.server_version
            server = f"server: PostgreSQL {version // 10000}.{version % 100} — {box.description}"
            result.notes = [*gathered.notes, server, _limits_note(options, box), *_version_note(verifier, settings),
                            *_fill_note(filler)]
            result.trace = verifier.trace
            result.claims = compare(claims, verifier.reports, result)
            result.risk = _risk(verifier.reports, prepared, result)
    sources = {p.source.display: p.text.text for p in prepared if p.text is not None}
    return result, verifier.reports, sources


def _impact(options: VerifyOptions, settings: Settings, conn: Any, verifier: Verifier,
            filler: Filler | None) -> Impact | None:
    """--queries and --rows: the application's queries and writes, before and after each migration."""
    paths = options.queries if options.queries is not None else list(settings.option("verify", "queries"))
    try:
        queries = load_queries(paths)
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"--queries: cannot read {getattr(exc, 'filename', '') or paths}: "
                         f"{getattr(exc, 'strerror', None) or exc}") from None
    if not queries and filler is None:
        return None
    return Impact(conn, queries, filler.insert_rows_sql if filler is not None else None, verifier._finding,
                  float(settings.option("verify", "slower-threshold")), float(settings.option("verify", "write-threshold")),
                  rows=lambda table: filler.done.rows.get(table, 0) if filler is not None else 0,
                  default_schema=settings.default_schema)


@contextlib.contextmanager
def _probe(options: VerifyOptions, box: Sandbox) -> Iterator[Probe | None]:
    """--probe: a third session, as the migrations' own role, that contends for their tables."""
    if not options.probe:
        yield None
        return
    import psycopg

    probe = Probe(lambda: psycopg.connect(**box.migrator, autocommit=True), lambda table: None)
    try:
        yield probe
    finally:
        probe.close()


def _limits_note(options: VerifyOptions, box: Sandbox) -> str:
    """"limits: 60s a statement, 30m for the run, the cluster's folder at most 2 GB" for the summary."""
    parts = [f"{describe(options.statement_timeout)} a statement"]
    if options.timeout is not None:
        parts.append(f"{describe(options.timeout)} for the run")
    if box.folder is not None and options.max_cluster_bytes is not None:
        parts.append(f"the cluster's folder at most {describe_size(options.max_cluster_bytes)}")
    return "limits: " + ", ".join(parts)


def _fill_note(filler: Filler | None) -> list[str]:
    """"synthetic rows: public.accounts 100,000 (1.2 s), …" for the summary."""
    if filler is None or not filler.done.seconds:
        return []
    done = filler.done
    listed = ", ".join(f"{table} {done.rows[table]:,} ({seconds:.2f} s)" for table, seconds in done.seconds.items())
    return [f"synthetic rows: {listed}"]


def _version_note(verifier: Verifier, settings: Settings) -> list[str]:
    if verifier.server_version != settings.target_postgres:
        return [f"the server is PostgreSQL {verifier.server_version} but target-postgres is "
                f"{settings.target_postgres}: what it observed may differ on your production version"]
    return []


def _display_of(down_display: str, up_path: Path) -> str:
    head = down_display.rsplit("/", 1)[0] if "/" in down_display else ""
    return f"{head}/{up_path.name}" if head else up_path.name


def _locks_cell(seen: observe.Observation, width: int) -> str:
    """The locks, strongest first; whole relation names only ("+2 more" instead of a cut name)."""
    if not seen.locks:
        return "-" if seen.observed else "(not observable outside a transaction)"
    items = [f"{mode.label} {name}" for name, mode in sorted(seen.locks.items(), key=lambda kv: (-kv[1], kv[0]))]
    shown: list[str] = []
    for number, item in enumerate(items):
        rest = len(items) - number - 1
        candidate = ", ".join([*shown, item]) + (f", +{rest} more" if rest else "")
        if shown and len(candidate) > width:
            return ", ".join(shown) + f", +{len(items) - len(shown)} more"
        shown.append(item)
    return ", ".join(shown)


def _risk(reports: list[FileReport], prepared: list[Any], result: RunResult) -> list[dict[str, Any]]:
    """The risk measured per judged file, beside its header's Risk Assessment (a lower header is said)."""
    from schemalint.rules.migration_file import header_fields

    texts = {p.source.display: p.text.text for p in prepared if p.text is not None}
    out = []
    for report in reports:
        measured = file_risk(report.rows)
        declared = header_fields(texts.get(report.file, "")).get("risk assessment")
        out.append({"file": report.file, "risk": measured, "declared": declared,
                    "statements": [{"line": row.line, "risk": statement_risk(row.observation)} for row in report.rows]})
        note = header_note(report.file, declared, measured)
        if note is not None:
            result.notes.append(note)
    return out


def render_tables(reports: list[FileReport]) -> str:
    """Per judged file, one row per statement: locks (strongest first), rewrite, scan, milliseconds, and with
    --probe how long concurrent reads and writes were blocked."""
    out: list[str] = []
    for report in reports:
        probed = any(r.observation is not None and r.observation.blocked for r in report.rows)
        out.append(f"{report.file}  (rollback: {report.rollback}; risk: {file_risk(report.rows)})")
        blocked_head = f"  {'reads blocked':>13}  {'writes blocked':>14}" if probed else ""
        out.append(f"  {'line':>5}  {'statement':<50}  {'locks on existing relations':<44}  {'rewrite':<7}  "
                   f"{'scan':<5}  {'ms':>7}  {'risk':<8}{blocked_head}")
        for row in report.rows:
            seen = row.observation
            if row.error is not None:
                detail = f"FAILED: {row.error}"
                out.append(f"  {row.line:>5}  {row.text[:50]:<50}  {detail}")
                continue
            if seen is None:
                out.append(f"  {row.line:>5}  {row.text[:50]:<50}")
                continue
            locks = _locks_cell(seen, 44)
            blocked = ""
            if probed:
                reads = f"{max(r for r, _ in seen.blocked.values()):.0f} ms" if seen.blocked else "-"
                writes = f"{max(w for _, w in seen.blocked.values()):.0f} ms" if seen.blocked else "-"
                blocked = f"  {reads:>13}  {writes:>14}"
            out.append(f"  {row.line:>5}  {row.text[:50]:<50}  {locks:<44}  "
                       f"{'yes' if seen.rewritten else 'no':<7}  {'yes' if seen.scanned else 'no':<5}  "
                       f"{seen.milliseconds:>7.1f}  {statement_risk(seen):<8}{blocked}")
        out.append("")
    return "\n".join(out) + ("\n" if out else "")


def render_impact(impact: dict[str, list[dict[str, Any]]] | None) -> str:
    """verify --queries/--rows: each listed query and each changed table's inserts, before and after."""
    if not impact or not (impact.get("queries") or impact.get("writes")):
        return ""
    out = ["Queries and writes, before → after each migration (medians, on the synthetic rows)"]
    for q in impact.get("queries") or []:
        before = "fails" if q["error_before"] else f"{q['before_ms']:.2f} ms {q['plan_before']}"
        after = f"fails: {q['error_after']}" if q["error_after"] else f"{q['after_ms']:.2f} ms {q['plan_after']}"
        using = f" using {', '.join(q['index_after'])}" if q["index_after"] and not q["error_after"] else ""
        out.append(f"  {q['file']}: query {q['name']}: {before} → {after}{using}")
    for w in impact.get("writes") or []:
        out.append(f"  {w['file']}: INSERT {w['rows']:,} rows into {w['table']}: {w['before_ms']:.1f} ms → "
                   f"{w['after_ms']:.1f} ms ({', '.join(w['because'])})")
    return "\n".join(out) + "\n\n"
