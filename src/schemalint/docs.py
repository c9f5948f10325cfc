"""The rule pages (``rules/*.md`` in the repository, ``schemalint/rule_docs`` in the wheel)."""

from __future__ import annotations

from pathlib import Path

from schemalint.rules.base import Rule

INFO_URI = "https://github.com/schemalint/schemalint"


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


def page_url(rule: Rule, docs_url: str | None = None) -> str:
    """Where a rule's page can be read: the configured ``docs-url`` (``{code}``, ``{name}`` and ``{page}`` filled
    in), else the page shipped with the installed package, else the project's repository."""
    if docs_url:
        return docs_url.format(code=rule.code, name=rule.name, page=rule.page_name)
    path = page_path(rule)
    if path is not None:
        return path.resolve().as_uri()
    return f"{INFO_URI}/blob/main/rules/{rule.page_name}"
