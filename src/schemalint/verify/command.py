"""Orchestrates a verify run: sources and parsing as in ``check``, a server instead of the rules."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from schemalint.config import Settings
from schemalint.engine import RunResult, prepare
from schemalint.run import RunRequest, enabled_codes, gather
from schemalint.verify.progress import Progress, Silent
from schemalint.verify.runner import FileReport, Verifier
from schemalint.verify.sandbox import Sandbox, sandbox
from schemalint.verify.server import (
    Connection,
    ServerError,
    clip,
    existing_server,
    find_bindir,
    throwaway_cluster,
)
from schemalint.verify.timeouts import Limits


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


@contextlib.contextmanager
def server(options: VerifyOptions) -> Iterator[Connection]:
    if options.dsn:
        yield existing_server(options.dsn)
    else:
        with throwaway_cluster(find_bindir(options.pg_bin), options.pg_user, notice=options.notice) as conn:
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
    with scratch(options) as box, options.progress:
        # the run's clock starts when the server is ready: --timeout bounds applying the migrations
        limits = Limits.start(options.statement_timeout, options.timeout)
        try:
            monitor = psycopg.connect(**box.monitor, autocommit=True)
            conn = psycopg.connect(**box.migrator, autocommit=True)
        except psycopg.Error as exc:
            raise ServerError(f"cannot connect to {box.description}: {clip(str(exc))}") from None
        with monitor, conn:
            verifier = Verifier(conn, settings, enabled, limits, monitor=monitor, progress=options.progress,
                                privileged=options.allow_superuser)
            result = verifier.run(prepared, rollback_files)
            result.runner = runner.summary
            result.notes = gathered.notes
    sources = {p.source.display: p.text.text for p in prepared if p.text is not None}
    return result, verifier.reports, sources


def _display_of(down_display: str, up_path: Path) -> str:
    head = down_display.rsplit("/", 1)[0] if "/" in down_display else ""
    return f"{head}/{up_path.name}" if head else up_path.name


def render_tables(reports: list[FileReport]) -> str:
    """Per judged file, one row per statement: locks per relation, rewrite, scan, milliseconds."""
    out: list[str] = []
    for report in reports:
        out.append(f"{report.file}  (rollback: {report.rollback})")
        out.append(f"  {'line':>5}  {'statement':<50}  {'locks on existing relations':<44}  {'rewrite':<7}  "
                   f"{'scan':<5}  {'ms':>7}")
        for row in report.rows:
            seen = row.observation
            if row.error is not None:
                detail = f"FAILED: {row.error}"
                out.append(f"  {row.line:>5}  {row.text[:50]:<50}  {detail}")
                continue
            if seen is None:
                out.append(f"  {row.line:>5}  {row.text[:50]:<50}")
                continue
            locks = ", ".join(f"{name} {mode.label}" for name, mode in seen.locks.items()) or (
                "-" if seen.observed else "(not observable outside a transaction)")
            out.append(f"  {row.line:>5}  {row.text[:50]:<50}  {locks[:44]:<44}  "
                       f"{'yes' if seen.rewritten else 'no':<7}  {'yes' if seen.scanned else 'no':<5}  "
                       f"{seen.milliseconds:>7.1f}")
        out.append("")
    return "\n".join(out) + ("\n" if out else "")
