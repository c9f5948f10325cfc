"""``--format concise``: ``path:line:col: CODE [severity] message``, one line each, sorted."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.engine import RunResult
from schemalint.report import ReportOptions
from schemalint.report.escape import visible
from schemalint.report.statistics import statistics_lines


def chunks(result: RunResult, options: ReportOptions) -> Iterator[str]:
    for f in sorted(result.findings, key=lambda f: f.sort_key()):
        yield f"{visible(f.file)}:{f.span.line}:{f.span.column}: {f.code} [{f.severity.label}] {visible(f.message)}\n"
    for e in result.internal_errors:
        yield f"{visible(e.file)}:{e.line}:{e.column}: internal error in {e.rule}: {visible(e.message)}\n"
    if options.statistics:
        yield from (line + "\n" for line in statistics_lines(result))
