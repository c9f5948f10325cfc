"""``--format github``: GitHub Actions workflow commands, one annotation per finding."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.engine import RunResult
from schemalint.report.escape import visible, visible_lines


def _data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(value: str) -> str:
    return _data(value).replace(":", "%3A").replace(",", "%2C")


def chunks(result: RunResult) -> Iterator[str]:
    for f in result.findings:
        level = "error" if f.severity.label == "error" else "warning"
        props = ",".join([
            f"file={_property(visible(f.file))}",
            f"line={f.span.line}",
            f"col={f.span.column}",
            f"endLine={f.span.end_line}",
            f"endColumn={f.span.end_column + 1}",
            f"title={_property(f'{f.code} {f.name}')}",
        ])
        # control characters shown visibly (ESC would reach the log as a terminal escape); the help's own
        # line breaks stay line breaks
        body = visible(f.message) + ("\n\n" + "\n".join(visible_lines(f.help)) if f.help else "")
        yield f"::{level} {props}::{_data(body)}\n"
    for e in result.internal_errors:
        props = f"file={_property(e.file)},line={e.line},col={e.column},title={_property('schemalint internal error')}"
        yield f"::error {props}::{_data(visible(e.rule + ': ' + e.message))}\n"


def step_summary(result: RunResult) -> str:
    """The job summary ($GITHUB_STEP_SUMMARY): the same Markdown as the PR comment format."""
    from schemalint.report import markdown as markdown_format

    return markdown_format.render(result)
