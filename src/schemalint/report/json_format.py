"""``--format json``: a versioned, stable interface. Lines and columns are 1-based;
``end_column`` is the column just past the last character (as in SARIF and ruff)."""

from __future__ import annotations

import json
from typing import Any

from schemalint.engine import RunResult
from schemalint.findings import Finding

JSON_VERSION = 1


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
    }


def render(result: RunResult) -> str:
    errors = sum(1 for f in result.findings if f.severity.label == "error")
    payload = {
        "version": JSON_VERSION,
        "findings": [finding_dict(f) for f in result.findings],
        "summary": {
            "files": result.files,
            "errors": errors,
            "warnings": len(result.findings) - errors,
        },
    }
    if result.internal_errors:
        payload["internal_errors"] = [
            {"file": e.file, "line": e.line, "column": e.column, "rule": e.rule, "message": e.message}
            for e in result.internal_errors
        ]
    # One finding per line: readable, and fast (json's indent= falls back to the pure-Python encoder).
    summary = json.dumps(payload["summary"], ensure_ascii=False)
    parts = [f'{{\n  "version": {JSON_VERSION},\n  "findings": [']
    parts.append(",\n".join("    " + json.dumps(f, ensure_ascii=False) for f in payload["findings"]))
    parts.append(f'  ],\n  "summary": {summary}')
    if "internal_errors" in payload:
        errors = ",\n".join("    " + json.dumps(e, ensure_ascii=False) for e in payload["internal_errors"])
        parts.append(f',\n  "internal_errors": [\n{errors}\n  ]')
    if payload["findings"]:
        text = parts[0] + "\n" + parts[1] + "\n" + "".join(parts[2:])
    else:
        text = parts[0] + "]" + "".join(parts[2:])[3:]
    return text + "\n}\n"
