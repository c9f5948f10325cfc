"""The Typer application and what every command shares: exit codes, errors, the settings from the config
file and the shared flags, writing a report."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TextIO

import typer

from schemalint import __version__

if TYPE_CHECKING:
    from schemalint.config import Settings

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


def fail(message: str) -> NoReturn:
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


def split_values(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for value in values or ():
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def use_color(color: bool | None, output_file: Path | None) -> bool:
    if output_file is not None:
        return False
    if color is not None:
        return color
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


def emit(report: Iterable[str], output_file: Path | None, stream: TextIO | None = None) -> None:
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
        fail(f"{output_file}: cannot write report: {exc.strerror or exc}")


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


def settings_for(
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
        fail(f"{config}: config file not found")
    if config is None:
        config = find_config(Path.cwd())
        if config is None and near and near != "-":
            start = Path(near).parent if not Path(near).is_dir() else Path(near)
            config = find_config(start) if start.exists() else None
    settings = load_settings(config)
    if select:
        settings.select = split_values(select)
    settings.ignore += split_values(ignore)
    if assume_in_transaction is not None:
        settings.assume_in_transaction = assume_in_transaction
    if fail_on is not None:
        try:
            settings.fail_on = Severity.parse(fail_on)
        except ValueError as exc:
            fail(f"--fail-on: {exc}")
    return settings


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
