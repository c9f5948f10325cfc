"""``--format text``: findings grouped by file, with a code frame, the why, and the recipe."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import groupby

from schemalint.engine import RunResult
from schemalint.findings import Finding, Severity
from schemalint.report import ReportOptions, counts
from schemalint.report.escape import visible, visible_lines
from schemalint.report.statistics import statistics_lines

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
MAX_FRAME_LINES = 6
MAX_FRAME_WIDTH = 160  # characters of a long line shown around the span
_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "bold yellow"}


# SGR codes for the styles used (the terminal's own 16 colours, as rich's "standard" system wrote them).
# Plain string building instead of a rich Console: the report renders tens of thousands of findings a
# second, and a run with colour off never pays for styling at all.
_SGR = {"bold": "1", "dim": "2", "underline": "4", "red": "31", "green": "32", "yellow": "33", "blue": "34",
        "magenta": "35", "cyan": "36"}


class _Styler:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, style: str = "") -> str:
        if not self.color or not style or not text:
            return text
        codes = ";".join(_SGR[word] for word in style.split())
        return f"\x1b[{codes}m{text}\x1b[0m"


def chunks(result: RunResult, options: ReportOptions) -> Iterator[str]:
    """The report a line at a time; blank lines at the very end are dropped with --quiet."""
    blank = 0
    for line in _lines(result, options):
        if not line:
            blank += 1
            continue
        if blank:
            yield "\n" * blank
            blank = 0
        yield line + "\n"
    if blank and not options.quiet:
        yield "\n" * blank


def _lines(result: RunResult, options: ReportOptions) -> Iterator[str]:
    paint = _Styler(bool(options.color))
    sources = options.sources or {}
    findings = sorted(result.findings, key=Finding.sort_key)
    for file, group in groupby(findings, key=lambda f: f.file):
        yield paint(visible(file), "bold underline")
        lines = source_lines(sources.get(file, ""))
        for f in group:
            out: list[str] = []
            _finding(out, paint, f, lines, options)
            yield from out
        yield ""
    for e in result.internal_errors:
        yield (paint(f"{visible(e.file)}:{e.line}:{e.column}: ", "bold") + paint("internal error ", "bold magenta")
               + f"in rule {e.rule}: {visible(e.message)}")
    if options.statistics and findings:
        yield from statistics_lines(result)
    if options.quiet:
        return
    yield from (paint(visible(note), "yellow") for note in result.notes)
    if result.runner:
        yield paint(f"runner: {result.runner}", "dim")
    if result.tenancy:
        yield paint(f"tenancy: {result.tenancy}", "dim")
    yield _summary(result, paint)


def _finding(out: list[str], paint: _Styler, f: Finding, lines: list[str], options: ReportOptions) -> None:
    style = _STYLE[f.severity]
    out.append(paint(f"{visible(f.file)}:{f.span.line}:{f.span.column}: ", "bold") + paint(f"{f.code} ", style)
               + paint(f"[{f.severity.label}] ", style) + visible(f.message))
    if lines and 0 < f.span.line <= len(lines):
        last = min(f.span.end_line, f.span.line + MAX_FRAME_LINES - 1, len(lines))
        width = len(str(last))
        underline = style.replace("bold ", "")
        for number in range(f.span.line, last + 1):
            raw = lines[number - 1]
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
            stop = max(start, end)
            out.append(paint(f"  {number:>{width}} │ ", "blue") + content[:start]
                       + paint(content[start:stop], underline) + content[stop:])
            if number == f.span.line:
                caret_end = end if f.span.end_line == number else len(content)
                marks = " " * start + "^" * max(1, caret_end - start)
                out.append(paint(f"  {'':>{width}} │ ", "blue") + paint(marks, style))
        if f.span.end_line > last:
            out.append(paint(f"  {'':>{width}} ┆ … ({f.span.end_line - last} more lines)", "blue"))
    if f.sql:  # a framework source: the operation and the SQL it rendered
        sql_lines = visible_lines(f.sql)
        out.append(paint("  sql: ", "bold blue") + (f"({visible(f.origin)}) " if f.origin else "") + sql_lines[0])
        out.extend("       " + extra for extra in sql_lines[1:MAX_FRAME_LINES])
    if options.show_help and f.help:
        help_lines = visible_lines(f.help)
        out.append(paint("  help: ", "bold cyan") + help_lines[0])
        out.extend("        " + extra for extra in help_lines[1:])
    fixable = ""
    if f.fix is not None:
        fixable = " · fixable with --fix" if f.fix.safe else " · fixable with --fix --unsafe-fixes"
    out.append(paint(f"  see: schemalint explain {f.code}{fixable}", "dim"))


def _frame_text(line: str) -> str:
    """A source line for a code frame: tabs as one space (columns stay aligned), controls visible."""
    return visible(line.replace("\t", " "))


def source_lines(text: str) -> list[str]:
    """Lines as PostgreSQL and editors count them: on \n, \r\n and \r only (not form feeds or U+2028)."""
    return _LINE_BREAK.split(text) if text else []


def _summary(result: RunResult, paint: _Styler) -> str:
    errors, warnings = counts(result)
    files_with = len({f.file for f in result.findings})
    checked = f"{result.files} file{'s' if result.files != 1 else ''} checked"
    if not result.findings and not result.internal_errors and not result.incomplete:
        if result.verified:
            return (paint("No problems observed on the server", "bold green") + f" ({checked}); static findings "
                    "are `schemalint check`'s.")
        return paint("All checks passed", "bold green") + f" ({checked})."
    parts = []
    if errors:
        parts.append(paint(f"{errors} error{'s' if errors != 1 else ''}", "bold red"))
    if warnings:
        parts.append(paint(f"{warnings} warning{'s' if warnings != 1 else ''}", "bold yellow"))
    out = "Found " + (" and ".join(parts) if parts else "no findings")
    out += f" in {files_with} file{'s' if files_with != 1 else ''} ({checked})."
    fixable = sum(1 for f in result.findings if f.fix is not None and f.fix.safe)
    unsafe = sum(1 for f in result.findings if f.fix is not None and not f.fix.safe)
    if fixable:
        out += paint(f" {fixable} fixable with `schemalint check --fix`.", "cyan")
    if unsafe:
        out += paint(f" {unsafe} {'more ' if fixable else ''}fixable with `--fix --unsafe-fixes` (they change "
                     f"transactions or when a constraint is checked: review them).", "cyan")
    if result.internal_errors:
        out += paint(f" {len(result.internal_errors)} internal error(s).", "bold magenta")
    for line in result.incomplete:
        out += "\n" + paint(f"Not fully checked: {visible(line)}", "bold yellow")
    return out
