"""Reporters: one module per format, all taking the same run result."""

from __future__ import annotations

from dataclasses import dataclass

from schemalint.engine import RunResult
from schemalint.findings import Severity

FORMATS = ("text", "concise", "json", "github", "sarif", "markdown")


@dataclass(frozen=True, slots=True)
class ReportOptions:
    color: bool | None = None  # None: only on a terminal (and never with NO_COLOR)
    statistics: bool = False
    quiet: bool = False  # findings only: no summary line, runner line or notes
    show_help: bool = True
    sources: dict[str, str] | None = None  # file → text, for code frames


def counts(result: RunResult) -> tuple[int, int]:
    errors = sum(1 for f in result.findings if f.severity == Severity.ERROR)
    return errors, len(result.findings) - errors


def render(fmt: str, result: RunResult, options: ReportOptions) -> str:
    """Everything but the text format returns a string; text is rendered by :mod:`.text`."""
    if fmt == "json":
        from schemalint.report import json_format

        return json_format.render(result)
    if fmt == "concise":
        from schemalint.report import concise

        return concise.render(result, options)
    if fmt == "github":
        from schemalint.report import github

        return github.render(result)
    if fmt == "markdown":
        from schemalint.report import markdown

        return markdown.render(result)
    if fmt == "sarif":
        from schemalint.report import sarif

        return sarif.render(result)
    from schemalint.report import text

    return text.render(result, options)
