"""``--statistics``: how many findings each rule raised."""

from __future__ import annotations

from collections import Counter

from schemalint.engine import RunResult


def statistics_lines(result: RunResult) -> list[str]:
    counter = Counter((f.code, f.name, f.severity.label) for f in result.findings)
    rows = sorted(counter.items(), key=lambda item: (-item[1], item[0][0]))
    width = max((len(str(n)) for _, n in rows), default=1)
    return [f"{count:>{width}}  {code}  {name}  [{sev}]" for (code, name, sev), count in rows]
