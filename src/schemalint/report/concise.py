"""``--format concise``: ``path:line:col: CODE [severity] message``, one line each, sorted."""

from __future__ import annotations

from schemalint.engine import RunResult
from schemalint.report import ReportOptions
from schemalint.report.escape import visible
from schemalint.report.statistics import statistics_lines


def render(result: RunResult, options: ReportOptions) -> str:
    lines = [
        f"{visible(f.file)}:{f.span.line}:{f.span.column}: {f.code} [{f.severity.label}] {visible(f.message)}"
        for f in sorted(result.findings, key=lambda f: f.sort_key())
    ]
    lines.extend(
        f"{visible(e.file)}:{e.line}:{e.column}: internal error in {e.rule}: {visible(e.message)}"
        for e in result.internal_errors
    )
    if options.statistics:
        lines.extend(statistics_lines(result))
    return "\n".join(lines) + ("\n" if lines else "")
