"""``--format sarif``: SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from schemalint import __version__
from schemalint.docs import INFO_URI, page_text, page_url
from schemalint.engine import RunResult
from schemalint.findings import Finding
from schemalint.rules import all_rules

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _level(severity: str) -> str:
    return "error" if severity == "error" else "warning"


_RESULTS = "\x00results\x00"  # where the results go in the document: no real value holds a NUL


def chunks(result: RunResult, docs_url: str | None = None) -> Iterator[str]:
    """The document as ``json.dumps(indent=2)`` writes it, with its results written one at a time."""
    rules = all_rules()
    used = sorted({f.code for f in result.findings} | set(rules))
    index = {code: i for i, code in enumerate(used)}
    driver_rules: list[dict[str, Any]] = []
    for code in used:
        rule = rules[code]
        driver_rules.append({
            "id": code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.summary},
            "helpUri": page_url(rule, docs_url),
            "help": {"text": f"{rule.summary}\nRun `schemalint explain {code}` for the safe alternative.",
                     "markdown": page_text(rule) or rule.summary},
            "defaultConfiguration": {"level": _level(rule.severity.label)},
            "properties": {"tags": ["postgresql", "migrations"]},
        })
    notifications = [
        {
            "level": "error",
            "message": {"text": f"{e.rule}: {e.message}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": e.file},
                                                "region": {"startLine": e.line, "startColumn": e.column}}}],
        }
        for e in result.internal_errors
    ]
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "schemalint", "version": __version__, "semanticVersion": __version__,
                            "informationUri": INFO_URI, "rules": driver_rules}},
        "results": _RESULTS,
        "columnKind": "unicodeCodePoints",
    }
    if notifications:
        run["invocations"] = [{"executionSuccessful": False, "toolExecutionNotifications": notifications}]
    if result.runner or result.tenancy or result.incomplete or result.notes:
        run["properties"] = {k: v for k, v in (("runner", result.runner), ("tenancy", result.tenancy),
                                                ("incomplete", result.incomplete), ("notes", result.notes)) if v}
    document = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    head, tail = json.dumps(document, indent=2, ensure_ascii=False).split(json.dumps(_RESULTS), 1)
    if not result.findings:
        yield head + "[]" + tail + "\n"
        return
    outer = head[head.rindex("\n") + 1 :][: -len('"results": ')]  # the indentation of the "results" key
    inner = outer + "  "
    yield head + "["
    seen: Counter[str] = Counter()
    for number, f in enumerate(result.findings):
        item = json.dumps(_result(f, index[f.code], seen), indent=2, ensure_ascii=False)
        yield ("\n" if number == 0 else ",\n") + inner + item.replace("\n", "\n" + inner)
    yield "\n" + outer + "]" + tail + "\n"


def _result(f: Finding, rule_index: int, seen: Counter[str]) -> dict[str, Any]:
    base = f"{f.code}\0{f.file}\0{f.message}"
    seen[base] += 1
    fingerprint = hashlib.sha256(f"{base}\0{seen[base]}".encode()).hexdigest()[:32]
    result = {
        "ruleId": f.code,
        "ruleIndex": rule_index,
        "level": _level(f.severity.label),
        "message": {"text": f.message + (f"\n\nHow to fix: {f.help}" if f.help else "")},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": f.file.removeprefix("./")},
                "region": {
                    "startLine": f.span.line,
                    "startColumn": f.span.column,
                    "endLine": f.span.end_line,
                    "endColumn": f.span.end_column + 1,
                },
            }
        }],
        "partialFingerprints": {"schemalintFinding/v1": fingerprint},
    }
    if f.sql is not None:  # a framework source: the operation and the SQL it rendered
        result["properties"] = {"origin": f.origin, "sql": f.sql}
    return result
