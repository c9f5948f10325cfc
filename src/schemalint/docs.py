"""The rule pages (``rules/*.md`` in the repository, ``schemalint/rule_docs`` in the wheel)."""

from __future__ import annotations

from pathlib import Path

from schemalint.rules.base import Rule


def pages_dir() -> Path | None:
    packaged = Path(__file__).parent / "rule_docs"
    if packaged.is_dir():
        return packaged
    repo = Path(__file__).resolve().parents[2] / "rules"  # editable install / source checkout
    if repo.is_dir():
        return repo
    return None


def page_path(rule: Rule) -> Path | None:
    directory = pages_dir()
    if directory is None:
        return None
    path = directory / rule.page_name
    return path if path.is_file() else None


def page_text(rule: Rule) -> str | None:
    path = page_path(rule)
    return path.read_text(encoding="utf-8") if path else None
