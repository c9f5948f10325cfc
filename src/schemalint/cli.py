"""The ``schemalint`` command: check, rules, explain, init (and verify). Exit codes:
0 = nothing at or above ``fail-on``; 1 = findings at or above it; 2 = usage, config or internal error."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TextIO

import typer

from schemalint import __version__

if TYPE_CHECKING:
    from schemalint.config import Settings
    from schemalint.engine import RunResult
    from schemalint.run import RunRequest

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

app = typer.Typer(
    name="schemalint",
    help="Stop unsafe PostgreSQL schema changes before they reach production.",
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"schemalint: error: {message}\n")
    raise typer.Exit(EXIT_ERROR)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"schemalint {__version__}\n")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main_callback(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Stop unsafe PostgreSQL schema changes before they reach production."""


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for value in values or ():
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def _use_color(color: bool | None, output_file: Path | None) -> bool:
    if output_file is not None:
        return False
    if color is not None:
        return color
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


def _emit(report: Iterable[str], output_file: Path | None, stream: TextIO | None = None) -> None:
    """Write the report's pieces as they are rendered (to ``stream``, stdout by default, or atomically to
    ``output_file``): a report of 700,000 findings is never held as one text."""
    if output_file is None:
        out = stream or sys.stdout
        for batch in _batches(report):
            out.write(batch)
        out.flush()
        return
    from schemalint.atomic import write_atomically

    try:
        write_atomically(output_file, (batch.encode("utf-8") for batch in _batches(report)))
    except OSError as exc:
        _fail(f"{output_file}: cannot write report: {exc.strerror or exc}")


def _batches(pieces: Iterable[str], size: int = 65_536) -> Iterator[str]:
    held: list[str] = []
    length = 0
    for piece in pieces:
        held.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(held)
            held, length = [], 0
    if held:
        yield "".join(held)


def _settings(
    config: Path | None,
    select: list[str] | None = None,
    ignore: list[str] | None = None,
    assume_in_transaction: bool | None = None,
    fail_on: str | None = None,
    near: str | None = None,
) -> Settings:
    """The config file with the shared flags applied. Without --config it is searched upwards from the
    current folder, then from ``near`` (the checked path, or --stdin-filename: editors run the linter from
    anywhere, and must still get the project's config)."""
    from schemalint.config import find_config, load_settings
    from schemalint.findings import Severity

    if config is not None and not config.is_file():
        _fail(f"{config}: config file not found")
    if config is None:
        config = find_config(Path.cwd())
        if config is None and near and near != "-":
            start = Path(near).parent if not Path(near).is_dir() else Path(near)
            config = find_config(start) if start.exists() else None
    settings = load_settings(config)
    if select:
        settings.select = _split(select)
    settings.ignore += _split(ignore)
    if assume_in_transaction is not None:
        settings.assume_in_transaction = assume_in_transaction
    if fail_on is not None:
        try:
            settings.fail_on = Severity.parse(fail_on)
        except ValueError as exc:
            _fail(f"--fail-on: {exc}")
    return settings


@app.command()
def check(
    paths: Annotated[list[str] | None, typer.Argument(help="Files or folders to check; '-' reads standard input.")] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text, concise, json, github, sarif or markdown.")] = "text",
    config: Annotated[Path | None, typer.Option("--config", help="Use this config file instead of searching for one.")] = None,
    select: Annotated[list[str] | None, typer.Option("--select", help="Run only these rules (codes, prefixes, names or families).")] = None,
    extend_select: Annotated[list[str] | None, typer.Option("--extend-select", help="Add rules to the selection.")] = None,
    ignore: Annotated[list[str] | None, typer.Option("--ignore", help="Do not run these rules.")] = None,
    include: Annotated[list[str] | None, typer.Option("--include", help="Glob of files to check inside folders (default *.sql).")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Glob of files or folders to skip.")] = None,
    target_postgres: Annotated[int | None, typer.Option("--target-postgres", help="PostgreSQL major version (10-18).")] = None,
    assume_in_transaction: Annotated[bool | None, typer.Option("--assume-in-transaction/--no-assume-in-transaction", help="The runner wraps each file in a transaction.")] = None,
    fail_on: Annotated[str | None, typer.Option("--fail-on", help="error or warning.")] = None,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even with findings (2 still means an error).")] = False,
    statistics: Annotated[bool, typer.Option("--statistics", help="Print how many findings each rule raised.")] = False,
    output_file: Annotated[Path | None, typer.Option("--output-file", "-o", help="Write the report to this file.")] = None,
    stdin_filename: Annotated[str | None, typer.Option("--stdin-filename", help="The name to report for standard input.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Report only files added or changed since this git ref.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the result cache.")] = False,
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="Where the cache lives (default .schemalint_cache).")] = None,
    color: Annotated[bool | None, typer.Option("--color/--no-color", help="Force colour on or off.")] = None,
    no_help: Annotated[bool, typer.Option("--no-help", help="Text format: leave out the help under each finding.")] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Parse files in N processes (default 1: usually faster).")] = 1,
    no_history: Annotated[bool, typer.Option("--no-history", help="Do not read the migrations before single named files as history.")] = False,
    fix: Annotated[bool, typer.Option("--fix", help="Apply the safe mechanical fixes (e.g. add CONCURRENTLY) to the files, then report what remains; with '-' the fixed text goes to standard output.")] = False,
    unsafe_fixes: Annotated[bool, typer.Option("--unsafe-fixes", help="With --fix or --diff: also apply the fixes that move statements out of a transaction, split them into several transactions, or change when a constraint is checked.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Print the unified diff of what --fix would change, write nothing (exit 1 if there is something to fix).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print the findings only: no summary, runner or notes.")] = False,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Check again whenever a checked file changes (Ctrl-C stops).")] = False,
) -> None:
    """Check migration files and report unsafe changes."""
    from schemalint.report import FORMATS

    if output_format not in FORMATS:
        _fail(f"unknown format {output_format!r} (choose from {', '.join(FORMATS)})")
    options = CheckOptions(
        paths=paths, output_format=output_format, config=config, select=select, extend_select=extend_select,
        ignore=ignore, include=include, exclude=exclude, target_postgres=target_postgres,
        assume_in_transaction=assume_in_transaction, fail_on=fail_on, exit_zero=exit_zero, statistics=statistics,
        output_file=output_file, stdin_filename=stdin_filename, since=since, no_cache=no_cache, cache_dir=cache_dir,
        color=color, no_help=no_help, jobs=jobs, no_history=no_history, fix=fix, quiet=quiet,
        unsafe_fixes=unsafe_fixes, diff=diff)
    if watch:
        if paths == ["-"]:
            _fail("--watch needs files or folders, not standard input")
        from schemalint.watch import watch_and_check

        raise typer.Exit(watch_and_check(options.paths or ["."], lambda: _exit_code(lambda: run_check(options))))
    run_check(options)


@dataclass(slots=True)
class CheckOptions:
    paths: list[str] | None
    output_format: str = "text"
    config: Path | None = None
    select: list[str] | None = None
    extend_select: list[str] | None = None
    ignore: list[str] | None = None
    include: list[str] | None = None
    exclude: list[str] | None = None
    target_postgres: int | None = None
    assume_in_transaction: bool | None = None
    fail_on: str | None = None
    exit_zero: bool = False
    statistics: bool = False
    output_file: Path | None = None
    stdin_filename: str | None = None
    since: str | None = None
    no_cache: bool = False
    cache_dir: Path | None = None
    color: bool | None = None
    no_help: bool = False
    jobs: int = 1
    no_history: bool = False
    fix: bool = False
    quiet: bool = False
    unsafe_fixes: bool = False
    diff: bool = False


def _exit_code(action: Callable[[], None]) -> int:
    try:
        action()
    except typer.Exit as stop:
        return int(stop.exit_code)
    return EXIT_OK


def run_check(o: CheckOptions) -> None:
    """One check run: findings reported, then exit with the code (raises typer.Exit)."""
    from schemalint.config import ConfigError
    from schemalint.deep import run_deep
    from schemalint.report import ReportOptions, chunks
    from schemalint.run import RunRequest, execute
    from schemalint.sources.files import SourceError

    paths = o.paths
    try:
        near = o.stdin_filename if (paths == ["-"] and o.stdin_filename) else (paths[0] if paths else None)
        settings = _settings(o.config, o.select, o.ignore, o.assume_in_transaction, o.fail_on, near)
        settings.extend_select += _split(o.extend_select)
        if o.include:
            settings.include = _split(o.include)
        settings.exclude += _split(o.exclude)
        if o.target_postgres is not None:
            if not 10 <= o.target_postgres <= 18:
                _fail(f"--target-postgres {o.target_postgres}: supported versions are 10 to 18")
            settings.target_postgres = o.target_postgres
        if o.cache_dir is not None:
            settings.cache_dir = str(o.cache_dir)
        stdin_data = sys.stdin.buffer.read() if paths and "-" in paths else None
        request = RunRequest(paths or ["."], settings, o.stdin_filename, o.since, use_cache=not o.no_cache and not o.fix,
                             jobs=o.jobs, history=not o.no_history, stdin_data=stdin_data)
        result, sources = run_deep(lambda: execute(request))
        fixed_stdin: str | None = None
        if o.diff:
            from schemalint.authoring.fixes import apply_fixes

            planned = apply_fixes(result.findings, {o.stdin_filename or "-"}, unsafe=o.unsafe_fixes, dry_run=True)
            sys.stdout.write(planned.diff)
            for line in planned.refused:
                sys.stderr.write(f"schemalint: {line}\n")
            sys.stderr.write(f"{planned.applied} fix{'es' if planned.applied != 1 else ''} in {planned.files} "
                             f"file{'s' if planned.files != 1 else ''} would be applied (nothing was written).\n")
            raise typer.Exit(EXIT_FINDINGS if planned.applied else EXIT_OK)
        if o.fix:
            fixed_stdin, result, sources = _fix(o, request, result, sources)
    except (ConfigError, SourceError) as exc:
        _fail(str(exc))
    if paths and "-" not in paths and result.files == 0 and not result.internal_errors:
        patterns = ", ".join(settings.include)
        sys.stderr.write(f"schemalint: warning: no migration files found in {', '.join(paths)} (include: "
                         f"{patterns}); nothing was checked\n")
    report = chunks(o.output_format, result, ReportOptions(
        color=_use_color(o.color, o.output_file), statistics=o.statistics, show_help=not o.no_help,
        sources=sources, quiet=o.quiet))
    if o.output_format == "github" and os.environ.get("GITHUB_STEP_SUMMARY"):
        from schemalint.report.github import step_summary

        try:
            with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as handle:
                handle.write(step_summary(result))
        except OSError as exc:
            sys.stderr.write(f"schemalint: warning: cannot write the job summary: {exc.strerror or exc}\n")
    if fixed_stdin is not None:
        sys.stdout.write(fixed_stdin)  # ruff's convention: the fixed text on stdout, what remains on stderr
        sys.stdout.flush()
        _emit(report, o.output_file, sys.stderr)
    else:
        _emit(report, o.output_file)
    if o.statistics and o.output_format in ("json", "github", "sarif", "markdown"):
        from schemalint.report.statistics import statistics_lines

        sys.stderr.write("\n".join(statistics_lines(result)) + "\n")
    if result.internal_errors:
        for e in result.internal_errors:
            sys.stderr.write(f"schemalint: internal error in rule {e.rule} at {e.file}:{e.line}:{e.column}: {e.message}\n")
        raise typer.Exit(EXIT_ERROR)
    if o.exit_zero:
        raise typer.Exit(EXIT_OK)
    failing = any(f.severity >= settings.fail_on for f in result.findings)
    raise typer.Exit(EXIT_FINDINGS if failing else EXIT_OK)


def _fix(o: CheckOptions, request: RunRequest, result: RunResult,
         sources: dict[str, str]) -> tuple[str | None, RunResult, dict[str, str]]:
    """Apply the fixes: to the files, or (for '-') to the text read from standard input, which is returned."""
    from schemalint.authoring.fixes import apply_fixes, fixed_text
    from schemalint.deep import run_deep
    from schemalint.run import execute

    stdin_name = o.stdin_filename or "-"
    fixed_stdin: str | None = None
    stdin_count = 0
    if request.stdin_data is not None:
        text = sources.get(stdin_name, request.stdin_data.decode("utf-8", "replace"))
        edits = {f.fix for f in result.findings if f.file == stdin_name and f.fix is not None
                 and (f.fix.safe or o.unsafe_fixes)}
        fixed_stdin, count, problem = fixed_text(text, edits)
        if problem is not None:
            sys.stderr.write(f"schemalint: {stdin_name}: not fixed: {problem}\n")
        if count:
            request.stdin_data = fixed_stdin.encode("utf-8")
        stdin_count = count
    skip = {stdin_name} if request.stdin_data is not None else set()
    fixed = apply_fixes(result.findings, skip, unsafe=o.unsafe_fixes)
    for line in fixed.refused:
        sys.stderr.write(f"schemalint: {line}\n")
    applied, files = fixed.applied, fixed.files
    if fixed.applied or stdin_count:
        result, sources = run_deep(lambda: execute(request))  # what remains, on the text as it is now
    for _ in range(4):  # edits that overlapped one applied wait a round (five rounds at most)
        if not fixed.applied:
            break
        fixed = apply_fixes(result.findings, skip, unsafe=o.unsafe_fixes)
        applied += fixed.applied
        if fixed.applied:
            result, sources = run_deep(lambda: execute(request))
    applied, files = applied + stdin_count, files + (1 if stdin_count else 0)
    sys.stderr.write(f"Fixed {applied} finding{'s' if applied != 1 else ''} in {files} "
                     f"file{'s' if files != 1 else ''}.\n")
    return fixed_stdin, result, sources


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
    assume_in_transaction: Annotated[bool | None, typer.Option("--assume-in-transaction/--no-assume-in-transaction", help="Apply each file as one transaction, as your runner does.")] = None,
    fail_on: Annotated[str | None, typer.Option("--fail-on", help="error or warning.")] = None,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even with findings (2 still means an error).")] = False,
    output_file: Annotated[Path | None, typer.Option("--output-file", "-o", help="Write the report to this file.")] = None,
    color: Annotated[bool | None, typer.Option("--color/--no-color", help="Force colour on or off.")] = None,
    rows: Annotated[int | None, typer.Option("--rows", min=0, help="Fill every pre-existing table a migration touches with N synthetic rows first.")] = None,
    rows_from: Annotated[str | None, typer.Option("--rows-from", help="Take the row count per table from this (staging) database, read-only.")] = None,
    max_rows: Annotated[int | None, typer.Option("--max-rows", min=0, help="At most this many rows per table (default 5,000,000).")] = None,
    probe: Annotated[bool, typer.Option("--probe", help="Measure how long concurrent reads and writes are blocked while each statement runs (SL507).")] = False,
) -> None:
    """Replay migrations on a throwaway PostgreSQL: observe locks, rewrites and scans, and prove the rollback."""
    from schemalint.config import ConfigError
    from schemalint.report import FORMATS, ReportOptions, render
    from schemalint.run import RunRequest
    from schemalint.sources.files import SourceError
    from schemalint.verify import progress
    from schemalint.verify.command import VerifyOptions, render_tables
    from schemalint.verify.command import verify as run_verify
    from schemalint.verify.server import ServerError
    from schemalint.verify.signals import Interrupted, stop_cleanly_on_signals
    from schemalint.verify.timeouts import parse_duration

    if output_format not in FORMATS:
        _fail(f"unknown format {output_format!r} (choose from {', '.join(FORMATS)})")
    limits: dict[str, float | None] = {"--statement-timeout": None, "--timeout": None}
    for option, value in (("--statement-timeout", statement_timeout), ("--timeout", timeout)):
        try:
            limits[option] = None if value is None else parse_duration(value)
        except ValueError as exc:
            _fail(f"{option} {exc}")
    statement_limit, run_limit = limits["--statement-timeout"] or 60.0, limits["--timeout"]

    def notice(line: str) -> None:
        sys.stderr.write(f"schemalint: {line}\n")

    try:
        with stop_cleanly_on_signals():
            settings = _settings(config, select, ignore, assume_in_transaction, fail_on)
            request = RunRequest(paths or ["."], settings, None, since, use_cache=False)
            options = VerifyOptions(dsn, pg_bin, pg_user, statement_limit, run_limit, allow_superuser,
                                    progress.for_stderr(), notice, rows=rows, rows_from=rows_from,
                                    max_rows=max_rows, probe=probe)
            result, reports, sources = run_verify(request, options)
    except Interrupted as stop:
        sys.stderr.write(f"schemalint: verify stopped by {stop}; what it had started was stopped and removed\n")
        raise typer.Exit(stop.exit_code) from None
    except (ConfigError, SourceError, ServerError, ValueError) as exc:
        _fail(str(exc))
    except ImportError as exc:
        _fail(f"verify needs psycopg 3: pip install 'schemalint[verify]' ({exc})")
    report = render(output_format, result, ReportOptions(
        color=_use_color(color, output_file), sources=sources))
    if output_format == "text":
        report = render_tables(reports) + report
    elif output_format == "markdown":
        from schemalint.report.markdown import render_trace

        report = render_trace(result.trace or []) + report
    _emit([report], output_file)
    if exit_zero:
        raise typer.Exit(EXIT_OK)
    raise typer.Exit(EXIT_FINDINGS if any(f.severity >= settings.fail_on for f in result.findings) else EXIT_OK)


@app.command("rules")
def list_rules(
    output_format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """List every rule: code, name, severity, on by default, summary."""
    import json

    from schemalint.rules import all_rules, family_of

    rules = all_rules()
    if output_format == "json":
        sys.stdout.write(json.dumps([
            {"code": r.code, "name": r.name, "family": family_of(r.code), "severity": r.severity.label,
             "enabled_by_default": r.enabled_by_default, "fix": r.fix, "summary": r.summary}
            for r in rules.values()
        ], indent=2) + "\n")
        return
    if output_format != "text":
        _fail(f"unknown format {output_format!r} (choose text or json)")
    if not sys.stdout.isatty():
        width = max(len(r.name) for r in rules.values())
        for r in rules.values():
            default = "on" if r.enabled_by_default else "off"
            sys.stdout.write(f"{r.code}  {r.name:<{width}}  {family_of(r.code):<13}  {r.severity.label:<7}  "
                             f"{default:<3}  {r.summary}\n")
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    if console.width < 140:  # narrow terminal: the summary on its own line reads better than a squeezed column
        for r in rules.values():
            style = "bold red" if r.severity.label == "error" else "bold yellow"
            console.print(Text.assemble((r.code, "bold"), "  ", (f"{r.severity.label:<7}", style), "  ",
                                        ("on " if r.enabled_by_default else "off"), "  ", (r.name, "cyan"),
                                        "  ", (family_of(r.code), "dim")))
            console.print(Text(f"       {r.summary}", style="dim"))
        return
    table = Table(show_lines=False, box=None, pad_edge=False)
    for column in ("code", "name", "family", "severity", "default", "summary"):
        table.add_column(column, no_wrap=column != "summary")
    for r in rules.values():
        table.add_row(r.code, r.name, family_of(r.code), r.severity.label, "on" if r.enabled_by_default else "off",
                      r.summary)
    console.print(table)


@app.command()
def explain(code: Annotated[str, typer.Argument(help="A rule code (SL102) or name (create-index-non-concurrently).")]) -> None:
    """Print a rule's page: what it flags, why, and the safe alternative."""
    from schemalint.docs import page_text
    from schemalint.rules import all_rules, resolve

    resolved = resolve(code)
    if resolved is None:
        _fail(f"unknown rule {code!r}: see `schemalint rules`")
    rule = all_rules()[resolved]
    text = page_text(rule)
    if text is None:
        sys.stdout.write(f"{rule.code} {rule.name} ({rule.severity.label})\n\n{rule.summary}\n")
        return
    if sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(text))
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


_STEP_OPTIONS = {"--add-column": 2, "--add-index": 1, "--add-foreign-key": 1, "--add-check": 2, "--set-not-null": 1,
                 "--create-table": 2}


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def new(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help='What the migration does, e.g. "Add customer health score to accounts".')],
    author: Annotated[str | None, typer.Option("--author", help="Default: git config user.name.")] = None,
    description: Annotated[str, typer.Option("--description", help="A sentence for the header.")] = "",
    risk: Annotated[str | None, typer.Option("--risk", help="low, medium or high (default: judged from the steps).")] = None,
    directory: Annotated[Path | None, typer.Option("--dir", help="Where to write (default: migrations-dir, else the newest migration's folder, else migrations/).")] = None,
    unique: Annotated[bool, typer.Option("--unique", help="The --add-index indexes are unique.")] = False,
    config: Annotated[Path | None, typer.Option("--config", help="Use this config file instead of searching for one.")] = None,
) -> None:
    """Write a new migration from safe recipes, with the guide's header and rollback section.

    Steps, in the order given: --add-column TABLE.COLUMN "DEFINITION", --add-index "TABLE(COLUMNS)",
    --add-foreign-key "TABLE(COL) REFERENCES OTHER(COL)", --add-check TABLE "EXPRESSION",
    --set-not-null TABLE.COLUMN, --create-table NAME "COLUMN DEFINITIONS".
    """
    from schemalint.authoring.generator import (
        GeneratorError,
        MigrationGenerator,
        parse_reference,
        split_column,
        split_index,
    )
    from schemalint.config import ConfigError

    steps: list[tuple[str, list[str]]] = []
    args = list(ctx.args)
    while args:
        option = args.pop(0)
        count = _STEP_OPTIONS.get(option)
        if count is None:
            _fail(f"unknown option or argument {option!r} (see schemalint new --help)")
        if len(args) < count:
            _fail(f"{option} needs {count} value{'s' if count > 1 else ''}")
        steps.append((option, [args.pop(0) for _ in range(count)]))
    if not steps:
        _fail("no steps: give at least one of " + ", ".join(_STEP_OPTIONS))
    try:
        generator = MigrationGenerator(directory, config)
        migration = generator.create_migration(title, description, author, risk)
        for option, values in steps:
            if option == "--create-table":
                generator.add_create_table_step(migration, values[0], values[1])
            elif option == "--add-column":
                table, column = split_column(values[0])
                generator.add_add_column_step(migration, table, column, values[1])
            elif option == "--set-not-null":
                table, column = split_column(values[0])
                generator.add_set_not_null_step(migration, table, column)
            elif option == "--add-check":
                generator.add_check_constraint_step(migration, values[0], values[1])
            elif option == "--add-foreign-key":
                table, fk_columns, ref_table, ref_columns = parse_reference(values[0])
                generator.add_foreign_key_step(migration, table, fk_columns, ref_table, ref_columns)
            else:
                table, index_columns = split_index(values[0])
                generator.add_create_index_step(migration, table, index_columns, unique=unique)
        path = generator.save_migration(migration)
    except (GeneratorError, ConfigError) as exc:
        _fail(str(exc))
    sys.stdout.write(f"{path}\n")


@app.command()
def server() -> None:
    """Run the language server (LSP over standard input and output) for editors."""
    from schemalint.language_server import serve

    serve()


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the config.")] = Path("schemalint.toml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter schemalint.toml."""
    from schemalint.config import STARTER_CONFIG

    if path.exists() and not force:
        _fail(f"{path} already exists (use --force to overwrite)")
    try:
        path.write_text(STARTER_CONFIG, encoding="utf-8")
    except OSError as exc:
        _fail(f"{path}: cannot write: {exc.strerror or exc}")
    sys.stdout.write(f"Wrote {path}\n")


def main() -> None:
    import gc

    # Parse trees are millions of small dicts and lists that die by reference counting; the cyclic
    # collector's default thresholds make it rescan them over and over (measured: 25% of a cold run).
    gc.set_threshold(200_000, 50, 50)
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("schemalint: interrupted\n")
        sys.exit(130)
    except Exception as exc:  # a bug: one line and exit 2, never a traceback read as "findings" (exit 1)
        detail = " ".join(str(exc).split())[:300]
        sys.stderr.write(f"schemalint: internal error: {type(exc).__name__}: {detail} (please report it)\n")
        sys.exit(2)
