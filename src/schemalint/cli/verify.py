"""``schemalint verify``: replay the migrations on a throwaway PostgreSQL."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from schemalint.cli.app import EXIT_FINDINGS, EXIT_OK, app, emit, fail, settings_for, use_color

CI_TIMEOUT = 30 * 60.0  # seconds: the whole run's limit in CI (CI=true) when --timeout is not given


@app.command()
def verify(
    paths: Annotated[list[str] | None, typer.Argument(help="Migration files or folders, applied in migration order.")] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text, concise, json, github, sarif or markdown.")] = "text",
    config: Annotated[Path | None, typer.Option("--config", help="Use this config file instead of searching for one.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Judge only files added or changed since this git ref (the rest is applied as history).")] = None,
    select: Annotated[list[str] | None, typer.Option("--select", help="Report only these codes (SL501-SL506).")] = None,
    ignore: Annotated[list[str] | None, typer.Option("--ignore", help="Do not report these codes.")] = None,
    dsn: Annotated[str | None, typer.Option("--dsn", help="Use this existing server (one you can throw away): a scratch database and role are created and dropped.")] = None,
    pg_bin: Annotated[str | None, typer.Option("--postgres-bin", "--pg-bin", help="Folder with initdb and postgres (default: pg_config, PATH, /usr/lib/postgresql/*/bin, then pgserver's).")] = None,
    pg_user: Annotated[str | None, typer.Option("--pg-user", help="When run as root: the system user to run PostgreSQL as (default postgres).")] = None,
    statement_timeout: Annotated[str, typer.Option("--statement-timeout", help="Cancel a statement that runs longer, e.g. 60s (the migration cannot lift it).")] = "60s",
    timeout: Annotated[str | None, typer.Option("--timeout", help="Cancel applying the migrations after this long, e.g. 10m (server start-up not counted).")] = None,
    allow_superuser: Annotated[bool, typer.Option("--allow-superuser", help="Run the migrations as superuser (COPY PROGRAM, untrusted extensions, CREATE ROLE): only for repositories you trust.")] = False,
    runner_name: Annotated[str | None, typer.Option("--runner", help="The migration runner (goose, flyway, …), instead of detecting it: files are applied the way it runs them.")] = None,
    assume_in_transaction: Annotated[bool | None, typer.Option("--assume-in-transaction/--no-assume-in-transaction", help="Apply each file as one transaction, as your runner does.")] = None,
    fail_on: Annotated[str | None, typer.Option("--fail-on", help="error or warning.")] = None,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even with findings (2 still means an error).")] = False,
    output_file: Annotated[Path | None, typer.Option("--output-file", "-o", help="Write the report to this file.")] = None,
    color: Annotated[bool | None, typer.Option("--color/--no-color", help="Force colour on or off.")] = None,
    rows: Annotated[int | None, typer.Option("--rows", min=0, help="Fill every pre-existing table a migration touches with N synthetic rows first.")] = None,
    rows_from: Annotated[str | None, typer.Option("--rows-from", help="Take the row count per table from this (staging) database, read-only.")] = None,
    max_rows: Annotated[int | None, typer.Option("--max-rows", min=0, help="At most this many rows per table (default 5,000,000).")] = None,
    queries: Annotated[list[str] | None, typer.Option("--queries", help="A .sql file (or glob) of the application's typical statements: timed with EXPLAIN ANALYZE before and after each migration (SL509, SL511).")] = None,
    probe: Annotated[bool, typer.Option("--probe", help="Measure how long concurrent reads and writes are blocked while each statement runs (SL507).")] = False,
    max_cluster_size: Annotated[str | None, typer.Option("--max-cluster-size", help="Stop when the throwaway cluster's folder passes this size, e.g. 2GB (default: [verify] max-cluster-size, else 2GB).")] = None,
) -> None:
    """Replay migrations on a throwaway PostgreSQL: observe locks, rewrites and scans, and prove the rollback."""
    from schemalint.config import ConfigError, parse_size
    from schemalint.report import FORMATS, ReportOptions, render
    from schemalint.run import RunRequest
    from schemalint.sources.files import SourceError
    from schemalint.verify import progress
    from schemalint.verify.command import VerifyOptions, render_impact, render_tables
    from schemalint.verify.command import verify as run_verify
    from schemalint.verify.server import ServerError
    from schemalint.verify.signals import Interrupted, stop_cleanly_on_signals
    from schemalint.verify.timeouts import parse_duration

    if output_format not in FORMATS:
        fail(f"unknown format {output_format!r} (choose from {', '.join(FORMATS)})")
    limits: dict[str, float | None] = {"--statement-timeout": None, "--timeout": None}
    for option, value in (("--statement-timeout", statement_timeout), ("--timeout", timeout)):
        try:
            limits[option] = None if value is None else parse_duration(value)
        except ValueError as exc:
            fail(f"{option} {exc}")
    statement_limit, run_limit = limits["--statement-timeout"] or 60.0, limits["--timeout"]
    if run_limit is None and os.environ.get("CI", "").lower() in ("true", "1"):
        run_limit = CI_TIMEOUT  # a CI job never hangs on a migration that does not end

    def notice(line: str) -> None:
        sys.stderr.write(f"schemalint: {line}\n")

    try:
        with stop_cleanly_on_signals():
            settings = settings_for(config, select, ignore, assume_in_transaction, fail_on)
            if runner_name is not None:
                from schemalint.sources.runners import RUNNERS

                if runner_name not in RUNNERS:
                    fail(f"--runner {runner_name}: unknown runner (choose from {', '.join(RUNNERS)})")
                settings.runner = runner_name
            size_limit = parse_size(max_cluster_size or str(settings.option("verify", "max-cluster-size")))
            if not size_limit:
                fail(f"--max-cluster-size {max_cluster_size!r}: use a size such as 2GB, 500MB or 512kB")
            request = RunRequest(paths or ["."], settings, None, since, use_cache=False)
            options = VerifyOptions(dsn, pg_bin, pg_user, statement_limit, run_limit, allow_superuser,
                                    progress.for_stderr(), notice, rows=rows, rows_from=rows_from,
                                    max_rows=max_rows, probe=probe, max_cluster_bytes=size_limit,
                                    queries=queries)
            result, reports, sources = run_verify(request, options)
    except Interrupted as stop:
        sys.stderr.write(f"schemalint: verify stopped by {stop}; what it had started was stopped and removed\n")
        raise typer.Exit(stop.exit_code) from None
    except (ConfigError, SourceError, ServerError, ValueError) as exc:
        fail(str(exc))
    except ImportError as exc:
        fail(f"verify needs psycopg 3: pip install 'schemalint[verify]' ({exc})")
    report = render(output_format, result, ReportOptions(
        color=use_color(color, output_file), sources=sources))
    if output_format == "text":
        report = render_tables(reports) + render_impact(result.impact) + report
    elif output_format == "markdown":
        from schemalint.report.markdown import render_impact as markdown_impact
        from schemalint.report.markdown import render_risk, render_trace

        report = render_trace(result.trace or []) + render_risk(result.risk) + markdown_impact(result.impact) + report
    emit([report], output_file)
    if exit_zero:
        raise typer.Exit(EXIT_OK)
    raise typer.Exit(EXIT_FINDINGS if any(f.severity >= settings.fail_on for f in result.findings) else EXIT_OK)


