"""``--format markdown``: a pull-request comment. One line of totals, a table of counts per rule, then per file
a folded ``<details>`` block with each finding and its safe SQL. Kept under GitHub's comment limit (65,536
characters): what does not fit is counted in a last line, never cut mid-finding."""

from __future__ import annotations

import re
from collections import Counter
from itertools import groupby
from typing import Any

from schemalint.engine import RunResult
from schemalint.findings import Finding
from schemalint.report.escape import markdown, visible_lines
from schemalint.sql.parse import parse

GITHUB_COMMENT_LIMIT = 65_536
_RESERVE = 400  # room for the closing tags and the "not shown" line


def _fence(lines: list[str]) -> list[str]:
    """SQL lines as a fenced block (HTML-escaping is not needed inside one; control characters still are)."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)  # longer than any run of backticks inside: nothing closes it early
    return [f"{fence}sql", *lines, fence]


_PLACEHOLDER = re.compile(r"<[^<>\n]{1,60}>|…")


def _is_sql(lines: list[str]) -> bool:
    """Do these help lines hold SQL statements (the recipe's ``<value>`` and ``…`` placeholders aside), or an SQL
    comment? Prose never parses."""
    text = "\n".join(lines).strip()
    if not text:
        return False
    if all(line.strip().startswith("--") or not line.strip() for line in lines):
        return True
    parsed = parse(_PLACEHOLDER.sub("x", text))
    return not parsed.errors and bool(parsed.statements)


def help_blocks(help_text: str) -> list[tuple[bool, list[str]]]:
    """The help split into prose and SQL: (is SQL, its lines). An SQL statement may span lines: a line starts
    SQL when it, together with the lines up to the next one ending in ``;``, parses."""
    lines = visible_lines(help_text.strip("\n"))
    blocks: list[tuple[bool, list[str]]] = []
    i = 0
    while i < len(lines):
        end = next((j for j in range(i, len(lines)) if lines[j].split("--", 1)[0].rstrip().endswith(";")), None)
        taken = lines[i : end + 1] if end is not None else []
        if end is not None and end - i < 12 and _is_sql(taken):
            i = end + 1
        elif lines[i].strip().startswith("--") and blocks and blocks[-1][0]:
            taken, i = [lines[i]], i + 1  # a comment under a statement stays with it
        else:
            taken = [lines[i]]
            i += 1
            if blocks and not blocks[-1][0]:
                blocks[-1][1].extend(taken)
            else:
                blocks.append((False, taken))
            continue
        if blocks and blocks[-1][0]:
            blocks[-1][1].extend(taken)
        else:
            blocks.append((True, taken))
    return blocks


def _help(help_text: str) -> list[str]:
    """Prose as text (escaped), SQL in ```sql fences."""
    out: list[str] = []
    for is_sql, lines in help_blocks(help_text):
        out.extend(["", *_fence(lines)] if is_sql else ["", *(markdown(line) for line in lines)])
    return out


def _finding(f: Finding) -> list[str]:
    lines = [f"- **{f.code}** {f.name} · line {f.span.line} · {f.severity.label}: {markdown(f.message)}"]
    if f.help:
        lines.extend(f"  {line}" if line else "" for line in _help(f.help))
    return lines


def render(result: RunResult, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    findings = sorted(result.findings, key=Finding.sort_key)
    errors = sum(1 for f in findings if f.severity.label == "error")
    warnings = len(findings) - errors
    files_with = len({f.file for f in findings})
    head = [f"### schemalint: {errors} error{'s' if errors != 1 else ''}, {warnings} "
            f"warning{'s' if warnings != 1 else ''} in {files_with} of {result.files} "
            f"file{'s' if result.files != 1 else ''} checked", ""]
    if not findings and not result.internal_errors:
        return "\n".join([*head, "No findings."]) + "\n"
    by_rule = Counter((f.code, f.name, f.severity.label) for f in findings)
    table = ["| rule | severity | count |", "|---|---|---|"]
    table.extend(f"| {code} {name} | {severity} | {count} |"
                 for (code, name, severity), count in sorted(by_rule.items()))
    out = [*head, *table, ""]
    for e in result.internal_errors:
        out.append(f"- internal error in {markdown(e.rule)} at {markdown(e.file)}:{e.line}: {markdown(e.message)}")
    size = sum(len(line) + 1 for line in out)
    shown = 0
    for file, group in groupby(findings, key=lambda f: f.file):
        items = list(group)
        block = [f"<details><summary><code>{markdown(file)}</code> — {len(items)} "
                 f"finding{'s' if len(items) != 1 else ''}</summary>", ""]
        block_size = sum(len(line) + 1 for line in block) + len("</details>\n\n")
        if size + block_size > limit - _RESERVE:
            break
        taken = 0
        for f in items:
            lines = _finding(f)
            cost = sum(len(line) + 1 for line in lines)
            if size + block_size + cost > limit - _RESERVE:
                break
            block.extend(lines)
            block_size += cost
            taken += 1
        if taken == 0:
            break
        out.extend([*block, "", "</details>", ""])
        size += block_size
        shown += taken
        if taken < len(items):
            break
    hidden = len(findings) - shown
    if hidden:
        out.append(f"… {hidden} more finding{'s' if hidden != 1 else ''} not shown (the comment limit is "
                   f"{limit:,} characters): run `schemalint check` locally for all of them.")
    return "\n".join(out).rstrip("\n") + "\n"


def render_trace(trace: list[dict[str, Any]], limit: int = GITHUB_COMMENT_LIMIT // 2) -> str:
    """verify's per-statement trace for a PR comment: per file, a folded table of statement, strongest lock,
    duration, blocked reads and writes; cut (and said so) before it takes half of the comment limit."""
    out: list[str] = ["### verify: what each statement did on PostgreSQL", ""]
    size = sum(len(line) + 1 for line in out)
    shown = 0
    for file, group in groupby(trace, key=lambda t: str(t["file"])):
        entries = list(group)
        block = [f"<details><summary><code>{markdown(file)}</code> — {len(entries)} "
                 f"statement{'s' if len(entries) != 1 else ''}</summary>", "",
                 "| line | statement | lock | ms | reads blocked | writes blocked |", "|---|---|---|---|---|---|"]
        for entry in entries:
            locks = entry.get("locks") or []
            lock = f"{locks[0]['mode']} on {locks[0]['relation']}" if locks else ("failed" if "error" in entry else "–")
            blocked = entry.get("blocked") or {}
            reads = f"{blocked['read_ms']:.0f} ms" if blocked else "–"
            writes = f"{blocked['write_ms']:.0f} ms" if blocked else "–"
            statement = markdown(str(entry["statement"]))[:120]
            block.append(f"| {entry['line']} | {statement} | {markdown(lock)} | {entry.get('ms', 0):.1f} | {reads} | "
                         f"{writes} |")
        block += ["", "</details>", ""]
        cost = sum(len(line) + 1 for line in block)
        if size + cost > limit:
            break
        out.extend(block)
        size += cost
        shown += len(entries)
    if shown < len(trace):
        out.append(f"… trace truncated: {len(trace) - shown} more statements not shown (the comment limit).")
        out.append("")
    return "\n".join(out) + "\n"


def render_impact(impact: dict[str, list[dict[str, Any]]] | None) -> str:
    """verify --queries/--rows for a pull request: a before/after table, plans in <details>."""
    if not impact or not (impact.get("queries") or impact.get("writes")):
        return ""
    out = ["#### Queries and writes, before → after (medians, on the synthetic rows)", "",
           "| what | before | after | plan after |", "|---|---|---|---|"]
    for q in impact.get("queries") or []:
        before = "fails" if q["error_before"] else f"{q['before_ms']:.1f} ms"
        after = "fails" if q["error_after"] else f"{q['after_ms']:.1f} ms"
        plan = markdown(q["error_after"] or f"{q['plan_after']} {', '.join(q['index_after'])}".strip())
        out.append(f"| `{markdown(q['file'])}`: query `{markdown(q['name'])}` | {before} | {after} | {plan} |")
    for w in impact.get("writes") or []:
        out.append(f"| `{markdown(w['file'])}`: INSERT {w['rows']:,} rows into `{markdown(w['table'])}` | {w['before_ms']:.0f} ms | "
                   f"{w['after_ms']:.0f} ms | {markdown(', '.join(w['because']))} |")
    details = [f"<details><summary>{markdown(q['name'])}</summary>\n\n```sql\n{q['sql']}\n```\n\nplan before: "
               f"{markdown(q['plan_before'] or '-')}, after: {markdown(q['plan_after'] or '-')}\n</details>"
               for q in impact.get("queries") or []]
    return "\n".join([*out, "", *details]) + "\n\n"


def render_risk(risk: list[dict[str, Any]] | None) -> str:
    """verify: the risk level measured per file, beside its header's Risk Assessment."""
    if not risk:
        return ""
    out = ["| migration | risk measured | header says |", "|---|---|---|"]
    out.extend(f"| `{markdown(r['file'])}` | {r['risk']} | {markdown(r['declared'] or '-')} |" for r in risk)
    return "\n".join(out) + "\n\n"
