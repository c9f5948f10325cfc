"""Reporters: one module per format, all taking the same run result."""

from __future__ import annotations

from collections.abc import Iterator
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
    docs_url: str | None = None  # where rule pages are read (config docs-url); default: the packaged pages


def counts(result: RunResult) -> tuple[int, int]:
    errors = sum(1 for f in result.findings if f.severity == Severity.ERROR)
    return errors, len(result.findings) - errors


def render(fmt: str, result: RunResult, options: ReportOptions) -> str:
    """The whole report as one string (the editor, tests); ``check`` writes :func:`chunks` as they come."""
    return "".join(chunks(fmt, result, options))


def chunks(fmt: str, result: RunResult, options: ReportOptions) -> Iterator[str]:
    """The report a piece at a time (a finding, a line): 700,000 findings never sit in memory as one text."""
    if fmt == "json":
        from schemalint.report import json_format

        return json_format.chunks(result)
    if fmt == "concise":
        from schemalint.report import concise

        return concise.chunks(result, options)
    if fmt == "github":
        from schemalint.report import github

        return github.chunks(result)
    if fmt == "markdown":
        from schemalint.report import markdown

        return iter((markdown.render(result),))  # a PR comment: 65,536 characters at most
    if fmt == "sarif":
        from schemalint.report import sarif

        return sarif.chunks(result, options.docs_url)
    from schemalint.report import text

    return text.chunks(result, options)
