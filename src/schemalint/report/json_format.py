"""``--format json``: a versioned, stable interface. Lines and columns are 1-based;
``end_column`` is the column just past the last character (as in SARIF and ruff)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from schemalint.engine import RunResult
from schemalint.findings import Finding

JSON_VERSION = 1
# one encoder for every line: json.dumps(…, ensure_ascii=False) builds a new encoder on each call, which
# cost 60% of rendering 7,000 findings
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "name": f.name,
        "severity": f.severity.label,
        "file": f.file,
        "line": f.span.line,
        "column": f.span.column,
        "end_line": f.span.end_line,
        "end_column": f.span.end_column + 1,
        "message": f.message,
        "help": f.help,
        "fix": None if f.fix is None else {
            "applicability": "safe" if f.fix.safe else "unsafe",
            "edits": [{"start": f.fix.start, "end": f.fix.end, "content": f.fix.replacement}],  # character offsets
        },
        **({"origin": f.origin, "sql": f.sql} if f.sql is not None else {}),  # framework sources
    }


def chunks(result: RunResult) -> Iterator[str]:
    error_count = sum(1 for f in result.findings if f.severity.label == "error")
    summary: dict[str, Any] = {"files": result.files, "errors": error_count,
                               "warnings": len(result.findings) - error_count}
    if result.runner:
        summary["runner"] = result.runner
    if result.tenancy:
        summary["tenancy"] = result.tenancy
    if result.incomplete:
        summary["incomplete"] = result.incomplete
    if result.notes:
        summary["notes"] = result.notes
    internal = [
        {"file": e.file, "line": e.line, "column": e.column, "rule": e.rule, "message": e.message}
        for e in result.internal_errors
    ]
    # One finding per line: readable, and fast (json's indent= falls back to the pure-Python encoder).
    yield f'{{\n  "version": {JSON_VERSION},\n  "findings": ['
    for number, f in enumerate(result.findings):
        yield ("\n    " if number == 0 else ",\n    ") + _ENCODE(finding_dict(f))
    if result.findings:
        yield "\n  "
    text = f'],\n  "summary": {json.dumps(summary)}'
    if internal:
        text += ',\n  "internal_errors": [\n' + ",\n".join("    " + json.dumps(e, ensure_ascii=False) for e in internal)
        text += "\n  ]"
    if result.claims is not None:  # verify: check's claims against what the server showed, per statement
        text += ',\n  "claims": [' + ",".join("\n    " + json.dumps(c, ensure_ascii=False) for c in result.claims)
        text += "\n  ]" if result.claims else "]"
    if result.risk is not None:  # verify: the risk level measured per file and statement, and the header's
        text += ',\n  "risk": [' + ",".join("\n    " + json.dumps(r, ensure_ascii=False) for r in result.risk)
        text += "\n  ]" if result.risk else "]"
    if result.impact is not None:  # verify --queries/--rows: the application's queries and writes, before/after
        text += ',\n  "impact": ' + json.dumps(result.impact, ensure_ascii=False)
    if result.trace is not None:  # verify: what each statement did (schema: verify/trace.schema.json)
        text += ',\n  "trace": [' + ",".join("\n    " + json.dumps(t, ensure_ascii=False) for t in result.trace)
        text += "\n  ]" if result.trace else "]"
    yield text + "\n}\n"
