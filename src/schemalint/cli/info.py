"""The commands around the rules and the project: ``rules``, ``explain``, ``init``, ``server``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from schemalint.cli.app import app, fail


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
        fail(f"unknown format {output_format!r} (choose text or json)")
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
    """Write a commented starter schemalint.toml."""
    from schemalint.config import STARTER_CONFIG

    if path.exists() and not force:
        fail(f"{path} already exists (use --force to overwrite)")
    try:
        path.write_text(STARTER_CONFIG, encoding="utf-8")
    except OSError as exc:
        fail(f"{path}: cannot write: {exc.strerror or exc}")
    sys.stdout.write(f"Wrote {path}\n")


