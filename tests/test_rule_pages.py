"""Every rule has a page in rules/, and every example on it does what the page says.

A page marks its examples with the fence info string: ```sql bad (must raise the page's rule),
```sql good (must not raise it). A ```sql history block is an earlier migration file that the
examples after it build on (e.g. the CREATE TABLE whose column type an example changes).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from schemalint.rules import all_rules
from tests.conftest import REPO, lint_files

PAGES = REPO / "rules"
_FENCE = re.compile(r"^```sql[ \t]+(?P<kind>bad|good|history|queries)(?P<opts>[^\n]*)\n(?P<body>.*?)^```",
                    re.M | re.S)


def refused(opts: str) -> bool:
    """The example is one PostgreSQL refuses as written (```sql bad refused)."""
    return "refused" in opts.split()


def examples(page: Path) -> list[tuple[str, str, str, str]]:
    """(kind, options, sql, history-so-far)"""
    history = ""
    out = []
    for match in _FENCE.finditer(page.read_text(encoding="utf-8")):
        kind, opts, body = match.group("kind"), match.group("opts").strip(), match.group("body")
        if kind == "history":
            history += body
        elif kind == "queries":
            continue  # the application's statements of a verify --queries page (tests/test_verify_pages.py)
        else:
            out.append((kind, opts, body, history))
    return out


def _settings(opts: str) -> dict[str, object]:
    """``key=value`` options of an example's fence; ``table.key=value`` sets a key of an option table
    (``locks.max-lock-timeout=2min``). A bare word is a flag for the tests, not a setting (``refused``:
    PostgreSQL refuses the example as written — that is the hazard the rule names)."""
    settings: dict[str, object] = {}
    for item in opts.split():
        key, equals, raw = item.partition("=")
        if not equals:
            continue
        value: object = int(raw) if raw.isdigit() else (raw == "true" if raw in ("true", "false") else raw)
        table, dot, option = key.partition(".")
        if dot:
            nested = settings.setdefault(table, {})
            assert isinstance(nested, dict)
            nested[option] = value
        else:
            settings[key] = value
    return settings


def test_every_rule_has_exactly_one_page() -> None:
    names = {p.name for p in PAGES.glob("SL*.md")}
    for rule in all_rules().values():
        assert rule.page_name in names, f"missing page rules/{rule.page_name}"
    assert len(names) == len(all_rules()), sorted(names - {r.page_name for r in all_rules().values()})


def static_pages() -> list[Path]:
    """Pages of the rules `check` raises (the SL5xx pages run on a server, in test_verify_pages.py)."""
    return [p for p in sorted(PAGES.glob("SL*.md")) if not p.name.startswith("SL5")]


CASES = [
    pytest.param(page, i, kind, opts, sql, history, id=f"{page.stem[:5]}-{i}-{kind}")
    for page in static_pages()
    for i, (kind, opts, sql, history) in enumerate(examples(page))
]


@pytest.mark.parametrize(("page", "number", "kind", "opts", "sql", "history"), CASES)
def test_page_example(page: Path, number: int, kind: str, opts: str, sql: str, history: str) -> None:
    code = page.name[:5]
    settings = _settings(opts)
    example = str(settings.pop("file", "20240201_000000_example.sql"))
    files = {"20240101_000000_history.sql": history} if history else {}
    files[example] = sql
    result = lint_files(files, settings, quiet_timeouts=code != "SL114", core_only=False)
    assert not result.internal_errors
    raised = [f for f in result.findings if f.code == code and f.file == example]
    if kind == "bad":
        assert raised, f"{page.name} example {number} should raise {code}:\n{sql}"
    else:
        assert not raised, f"{page.name} example {number} should not raise {code}: {raised[0].message}"


def test_pages_have_bad_and_good_examples() -> None:
    for page in sorted(PAGES.glob("SL*.md")):
        kinds = {k for k, *_ in examples(page)}
        if page.name[:5] in ("SL002", "SL013", "SL014"):  # not expressible as SQL text (SL013/SL014 need a git
            continue  # history: tests/test_history_gate.py)
        assert "bad" in kinds, f"{page.name} has no bad example"
        if page.name[:5] not in ("SL001",):
            assert "good" in kinds, f"{page.name} has no good example"
