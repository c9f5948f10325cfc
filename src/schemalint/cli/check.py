"""``schemalint check`` (with ``--fix``, ``--diff`` and ``--watch``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from schemalint.cli.app import (
    EXIT_ERROR,
    EXIT_FINDINGS,
    EXIT_OK,
    app,
    emit,
    fail,
    settings_for,
    split_values,
    use_color,
)

if TYPE_CHECKING:
    from schemalint.engine import RunResult
    from schemalint.run import RunRequest

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
    preset: Annotated[str | None, typer.Option("--preset", help="The rule set: default (any PostgreSQL team) or guide (adds the house guide's conventions); wins over the config.")] = None,
    runner_name: Annotated[str | None, typer.Option("--runner", help="The migration runner (goose, flyway, …; see the README), instead of detecting it; wins over the config.")] = None,
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
    django: Annotated[bool, typer.Option("--django", help="The migrations are Django's: render each one's SQL with the project's own backend, without a database, and report at the .py operation (detected from manage.py when a folder is named).")] = False,
    alembic: Annotated[bool, typer.Option("--alembic", help="The migrations are Alembic revisions: render each one offline and report at the op. call (detected from alembic.ini when a folder is named).")] = False,
    django_settings: Annotated[str | None, typer.Option("--settings", "--alembic-config", "-c", help="Django's settings module (default: the one manage.py names), or Alembic's config file, as alembic -c takes it (default alembic.ini).")] = None,
    database: Annotated[str, typer.Option("--database", help="Django's database alias whose backend renders the SQL.")] = "default",
    python: Annotated[str | None, typer.Option("--python", help="The project's interpreter, which renders the migrations (default: the one running schemalint).")] = None,
    daemon: Annotated[bool | None, typer.Option("--daemon/--no-daemon", help="Run the check in the warm daemon (schemalint daemon start), falling back to this process when none answers; default: the config's daemon key.")] = None,
) -> None:
    """Check migration files and report unsafe changes."""
    from schemalint.report import FORMATS

    if output_format not in FORMATS:
        fail(f"unknown format {output_format!r} (choose from {', '.join(FORMATS)})")
    options = CheckOptions(
        paths=paths, output_format=output_format, config=config, select=select, extend_select=extend_select,
        ignore=ignore, include=include, exclude=exclude, target_postgres=target_postgres, preset=preset,
        runner=runner_name,
        assume_in_transaction=assume_in_transaction, fail_on=fail_on, exit_zero=exit_zero, statistics=statistics,
        output_file=output_file, stdin_filename=stdin_filename, since=since, no_cache=no_cache, cache_dir=cache_dir,
        color=color, no_help=no_help, jobs=jobs, no_history=no_history, fix=fix, quiet=quiet,
        unsafe_fixes=unsafe_fixes, diff=diff, framework="django" if django else ("alembic" if alembic else None),
        framework_settings=django_settings, framework_database=database, python=python)
    if watch:
        if paths == ["-"]:
            fail("--watch needs files or folders, not standard input")
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
    preset: str | None = None
    runner: str | None = None
    assume_in_transaction: bool | None = None
    fail_on: str | None = None
    exit_zero: bool = False
    statistics: bool = False
    framework: str | None = None
    framework_settings: str | None = None
    framework_database: str = "default"
    python: str | None = None
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
    from schemalint.config import PRESETS, ConfigError
    from schemalint.deep import run_deep
    from schemalint.report import ReportOptions, chunks
    from schemalint.run import RunRequest, execute
    from schemalint.sources.files import SourceError
    from schemalint.sources.runners import RUNNERS

    paths = o.paths
    if o.since is not None and not o.since.strip():
        fail("--since needs a git ref, e.g. --since origin/main")
    try:
        near = o.stdin_filename if (paths == ["-"] and o.stdin_filename) else (paths[0] if paths else None)
        settings = settings_for(o.config, o.select, o.ignore, o.assume_in_transaction, o.fail_on, near)
        settings.extend_select += split_values(o.extend_select)
        if o.include:
            settings.include = split_values(o.include)
        settings.exclude += split_values(o.exclude)
        if o.preset is not None:
            if o.preset not in PRESETS:
                fail(f"--preset {o.preset}: unknown preset (choose from {', '.join(PRESETS)})")
            settings.preset = o.preset
        if o.runner is not None:
            if o.runner not in RUNNERS:
                fail(f"--runner {o.runner}: unknown runner (choose from {', '.join(RUNNERS)})")
            settings.runner = o.runner
        if o.target_postgres is not None:
            if not 10 <= o.target_postgres <= 18:
                fail(f"--target-postgres {o.target_postgres}: supported versions are 10 to 18")
            settings.target_postgres = o.target_postgres
        if o.cache_dir is not None:
            settings.cache_dir = str(o.cache_dir)
        stdin_data = sys.stdin.buffer.read() if paths and "-" in paths else None
        request = RunRequest(paths or ["."], settings, o.stdin_filename, o.since, use_cache=not o.no_cache and not o.fix,
                             jobs=o.jobs, history=not o.no_history, stdin_data=stdin_data, framework=o.framework,
                             framework_settings=o.framework_settings, framework_database=o.framework_database,
                             python=o.python)
        result, sources = run_deep(lambda: execute(request))
        fixed_stdin: str | None = None
        if o.diff:
            from schemalint.authoring.fixes import apply_fixes

            planned = apply_fixes(result.findings, {o.stdin_filename or "-"}, unsafe=o.unsafe_fixes, dry_run=True,
                                  refuse=result.not_fixable)
            sys.stdout.write(planned.diff)
            for line in planned.refused:
                sys.stderr.write(f"schemalint: {line}\n")
            sys.stderr.write(f"{planned.applied} fix{'es' if planned.applied != 1 else ''} in {planned.files} "
                             f"file{'s' if planned.files != 1 else ''} would be applied (nothing was written).\n")
            raise typer.Exit(EXIT_FINDINGS if planned.applied else EXIT_OK)
        if o.fix:
            fixed_stdin, result, sources = _fix(o, request, result, sources)
    except (ConfigError, SourceError) as exc:
        fail(str(exc))
    checked = paths or ["."]
    if "-" not in checked and result.files == 0 and not result.internal_errors:
        not_migrations = [n for n in result.notes if n.startswith("not a migration of this project")]
        if o.since and result.found:
            sys.stderr.write(f"schemalint: no migration changed since {o.since} ({result.found:,} read as "
                             f"history); nothing to report\n")
        elif not_migrations and result.found:  # a hook passed only migrations/__init__.py, env.py, …
            sys.stderr.write(f"schemalint: {not_migrations[0]} ({result.found:,} read as history); "
                             "nothing to report\n")
        else:  # a typo'd path must not pass a CI gate
            skipped = "".join(f"; {note}" for note in result.notes if note.startswith("skipped"))
            fail(f"no migration files found in {', '.join(checked)} (include: {', '.join(settings.include)}"
                 f"{skipped}): nothing was checked")
    report = chunks(o.output_format, result, ReportOptions(
        color=use_color(o.color, o.output_file), statistics=o.statistics, show_help=not o.no_help,
        sources=sources, quiet=o.quiet, docs_url=settings.docs_url))
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
        emit(report, o.output_file, sys.stderr)
    else:
        emit(report, o.output_file)
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
    fixed = apply_fixes(result.findings, skip, unsafe=o.unsafe_fixes, refuse=result.not_fixable)
    for line in fixed.refused:
        sys.stderr.write(f"schemalint: {line}\n")
    applied, files = fixed.applied, fixed.files
    if fixed.applied or stdin_count:
        result, sources = run_deep(lambda: execute(request))  # what remains, on the text as it is now
    for _ in range(4):  # edits that overlapped one applied wait a round (five rounds at most)
        if not fixed.applied:
            break
        fixed = apply_fixes(result.findings, skip, unsafe=o.unsafe_fixes, refuse=result.not_fixable)
        applied += fixed.applied
        if fixed.applied:
            result, sources = run_deep(lambda: execute(request))
    applied, files = applied + stdin_count, files + (1 if stdin_count else 0)
    sys.stderr.write(f"Fixed {applied} finding{'s' if applied != 1 else ''} in {files} "
                     f"file{'s' if files != 1 else ''}.\n")
    return fixed_stdin, result, sources


