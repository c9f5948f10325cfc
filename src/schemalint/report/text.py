"""``--format text``: findings grouped by file, with a code frame, the why, and the recipe."""

from __future__ import annotations

import io
import re
from itertools import groupby

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from schemalint.engine import RunResult
from schemalint.findings import Finding, Severity
from schemalint.report import ReportOptions, counts
from schemalint.report.escape import visible, visible_lines
from schemalint.report.statistics import statistics_lines

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
MAX_FRAME_LINES = 6
MAX_FRAME_WIDTH = 160  # characters of a long line shown around the span
_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "bold yellow"}


def render(result: RunResult, options: ReportOptions) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=bool(options.color),
        no_color=not options.color,
        color_system="standard" if options.color else None,
        width=10_000,
        highlight=False,
        soft_wrap=True,
    )
    sources = options.sources or {}
    findings = sorted(result.findings, key=Finding.sort_key)
    for file, group in groupby(findings, key=lambda f: f.file):
        items = list(group)
        console.print(Text(visible(file), style="bold underline"))
        lines = source_lines(sources.get(file, ""))
        for f in items:
            _finding(console, f, lines, options)
        console.print()
    for e in result.internal_errors:
        console.print(Text.assemble((f"{visible(e.file)}:{e.line}:{e.column}: ", "bold"),
                                    ("internal error ", "bold magenta"), f"in rule {e.rule}: {visible(e.message)}"))
    if options.statistics and findings:
        for line in statistics_lines(result):
            console.print(line)
    for note in result.notes:
        console.print(Text(visible(note), style="yellow"))
    if result.runner:
        console.print(Text(f"runner: {result.runner}", style="dim"))
    console.print(_summary(result))
    return buffer.getvalue()


def _finding(console: Console, f: Finding, lines: list[str], options: ReportOptions) -> None:
    console.print(Text.assemble(
        (f"{visible(f.file)}:{f.span.line}:{f.span.column}: ", "bold"),
        (f"{f.code} ", _STYLE[f.severity]),
        (f"[{f.severity.label}] ", _STYLE[f.severity]),
        (visible(f.message), ""),
    ))
    if lines and 0 < f.span.line <= len(lines):
        last = min(f.span.end_line, f.span.line + MAX_FRAME_LINES - 1, len(lines))
        width = len(str(last))
        for number in range(f.span.line, last + 1):
            raw = lines[number - 1]
            gutter = Text(f"  {number:>{width}} │ ", style="blue")
            start = f.span.column - 1 if number == f.span.line else 0
            end = f.span.end_column if number == f.span.end_line else len(raw)
            if len(raw) > MAX_FRAME_WIDTH:
                # a window around the span, cut before anything else touches the line: a 10 MB line costs
                # the same as a short one, for every one of its findings
                left = max(0, min(start - 20, len(raw) - MAX_FRAME_WIDTH))
                window = raw[left : left + MAX_FRAME_WIDTH]
                content = ("…" if left else "") + _frame_text(window) + ("…" if left + MAX_FRAME_WIDTH < len(raw) else "")
                shift = left - (1 if left else 0)
                start, end = max(0, start - shift), min(len(content) - 1, max(0, end - shift))
            else:
                content = _frame_text(raw)
            line_text = Text(content)
            line_text.stylize(_STYLE[f.severity].replace("bold ", ""), start, max(start, end))
            console.print(Text.assemble(gutter, line_text))
            if number == f.span.line:
                caret_end = end if f.span.end_line == number else len(content)
                marks = " " * start + "^" * max(1, caret_end - start)
                console.print(Text.assemble(Text(f"  {'':>{width}} │ ", style="blue"), Text(marks, style=_STYLE[f.severity])))
        if f.span.end_line > last:
            console.print(Text(f"  {'':>{width}} ┆ … ({f.span.end_line - last} more lines)", style="blue"))
    if options.show_help and f.help:
        help_lines = visible_lines(f.help)
        console.print(Text.assemble(("  help: ", "bold cyan"), help_lines[0]))
        for extra in help_lines[1:]:
            console.print(Text("        " + extra))
    fixable = " · fixable with --fix" if f.fix is not None else ""
    console.print(Text.from_markup(f"  [dim]see: schemalint explain {escape(f.code)}{fixable}[/dim]"))


def _frame_text(line: str) -> str:
    """A source line for a code frame: tabs as one space (columns stay aligned), controls visible."""
    return visible(line.replace("\t", " "))


def source_lines(text: str) -> list[str]:
    """Lines as PostgreSQL and editors count them: on \n, \r\n and \r only (not form feeds or U+2028)."""
    return _LINE_BREAK.split(text) if text else []


def _summary(result: RunResult) -> Text:
    errors, warnings = counts(result)
    files_with = len({f.file for f in result.findings})
    checked = f"{result.files} file{'s' if result.files != 1 else ''} checked"
    if not result.findings and not result.internal_errors and not result.incomplete:
        return Text.assemble(("All checks passed", "bold green"), f" ({checked}).")
    parts = []
    if errors:
        parts.append((f"{errors} error{'s' if errors != 1 else ''}", "bold red"))
    if warnings:
        parts.append((f"{warnings} warning{'s' if warnings != 1 else ''}", "bold yellow"))
    out = Text("Found ")
    for i, (label, style) in enumerate(parts):
        if i:
            out.append(" and ")
        out.append(label, style=style)
    if not parts:
        out.append("no findings")
    out.append(f" in {files_with} file{'s' if files_with != 1 else ''} ({checked}).")
    fixable = sum(1 for f in result.findings if f.fix is not None)
    if fixable:
        out.append(f" {fixable} fixable with `schemalint check --fix`.", style="cyan")
    if result.internal_errors:
        out.append(f" {len(result.internal_errors)} internal error(s).", style="bold magenta")
    for line in result.incomplete:
        out.append(f"\nNot fully checked: {visible(line)}", style="bold yellow")
    return out
