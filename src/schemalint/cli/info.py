"""The commands around the rules and the project: ``rules``, ``explain``, ``init``, ``server``."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from schemalint.cli.app import app, fail

_PRESET_LABEL = {"default": "default", "tenancy": "default (tenancy)", "guide": "guide"}


@app.command("rules")
def list_rules(
    output_format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """List every rule: code, name, family, severity, the rule set that turns it on (default; default
    (tenancy): when the history is multi-tenant; guide: with preset = "guide"), fix, summary."""
    import json

    from schemalint.rules import all_rules, family_of, preset_of

    rules = all_rules()
    if output_format == "json":
        sys.stdout.write(json.dumps([
            {"code": r.code, "name": r.name, "family": family_of(r.code), "severity": r.severity.label,
             "preset": preset_of(r.code), "enabled_by_default": preset_of(r.code) == "default", "fix": r.fix,
             "summary": r.summary}
            for r in rules.values()
        ], indent=2) + "\n")
        return
    if output_format != "text":
        fail(f"unknown format {output_format!r} (choose text or json)")
    rows = [(r.code, r.name, family_of(r.code), r.severity.label, _PRESET_LABEL[preset_of(r.code)], r.fix or "",
             r.summary) for r in rules.values()]
    if not sys.stdout.isatty():
        widths = [max(len(row[i]) for row in rows) for i in range(6)]
        for row in rows:
            sys.stdout.write("  ".join(f"{cell:<{width}}" for cell, width in zip(row[:6], widths, strict=True))
                             + f"  {row[6]}\n")
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    if console.width < 140:  # narrow terminal: the summary on its own line reads better than a squeezed column
        for code, name, family, severity, preset, fix, summary in rows:
            style = "bold red" if severity == "error" else "bold yellow"
            console.print(Text.assemble((code, "bold"), "  ", (f"{severity:<7}", style), "  ", (name, "cyan"),
                                        "  ", (f"{family} · {preset}" + (f" · fix: {fix}" if fix else ""), "dim")))
            console.print(Text(f"       {summary}", style="dim"))
        return
    table = Table(show_lines=False, box=None, pad_edge=False)
    for column in ("code", "name", "family", "severity", "rule set", "fix", "summary"):
        table.add_column(column, no_wrap=column != "summary")
    for row in rows:
        table.add_row(*row)
    console.print(table)


@app.command()
def explain(code: Annotated[str, typer.Argument(help="A rule code (SL102) or name (create-index-non-concurrently).")]) -> None:
    """Print a rule's page: what it flags, why, and the safe alternative."""
    from schemalint.docs import page_text
    from schemalint.rules import all_rules, resolve

    resolved = resolve(code)
    if resolved is None:
        fail(f"unknown rule {code!r}: see `schemalint rules`")
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
    """Write a commented starter schemalint.toml (with the migration folders found here as history-paths), and
    print the pre-commit hook that lints those folders only."""
    from schemalint.config import STARTER_CONFIG
    from schemalint.sources import frameworks
    from schemalint.sources.files import migration_folders

    if path.exists() and not force:
        fail(f"{path} already exists (use --force to overwrite)")
    base = path.parent if str(path.parent) else Path(".")
    framework = frameworks.detect([str(base)])
    folders = [] if framework is not None else migration_folders(base)
    text = STARTER_CONFIG
    if framework is not None:  # Python migrations: the framework renders them, in the project's interpreter
        text = text.replace('# source = "django"', f'source = "{framework[0]}"  # detected from {framework[1]}')
        venv = next((v for v in (".venv", "venv") if (base / v / "bin" / "python").is_file()), None)
        if venv is not None:
            text = text.replace('# python = ".venv/bin/python"', f'python = "{venv}/bin/python"')
    if 0 < len(folders) <= 5:  # more is a folder of many projects: better named by hand
        listed = ", ".join(f'"{folder}"' for folder in folders)
        text = text.replace('# history-paths = ["db/migrations"]', f"history-paths = [{listed}]")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"{path}: cannot write: {exc.strerror or exc}")
    sys.stdout.write(f"Wrote {path}\n")
    if framework is not None:
        sys.stdout.write(f"{framework[0].capitalize()} migrations (detected from {framework[1]}). For pre-commit "
                         f"(.pre-commit-config.yaml), lint the changed ones:\n      - id: schemalint-python\n")
    if 0 < len(folders) <= 5:
        pattern = "|".join(re.sub(r"([.+*?()\[\]{}|^$\\])", r"\\\1", folder) for folder in folders)
        sys.stdout.write(
            f"Migration folders: {', '.join(folders)}. For pre-commit (.pre-commit-config.yaml), lint only them, not "
            f"seeds or dumps:\n      - id: schemalint\n        files: ^({pattern})/\n")
