"""What a rule is: metadata beside a small pure function, kept in one registry."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from schemalint.findings import Hit, Severity

if TYPE_CHECKING:
    from schemalint.context import Context, FileContext
    from schemalint.sql.parse import Statement

CheckFn = Callable[["Statement", "Context"], Iterable[Hit]]
FinishFn = Callable[["FileContext"], Iterable[Hit]]


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str
    kinds: frozenset[str] | None = None  # statement kinds to receive; None = all
    check: CheckFn | None = None
    finish: FinishFn | None = None  # called once at the end of each file
    once_per: str | None = None  # "file" or "transaction": keep only the first finding
    fix: str | None = None  # "safe" or "unsafe" when some of its findings carry a fix (--fix, --unsafe-fixes)

    @property
    def page_name(self) -> str:
        return f"{self.code}-{self.name}.md"


REGISTRY: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    if rule.code in REGISTRY:
        raise RuntimeError(f"rule {rule.code} registered twice")
    REGISTRY[rule.code] = rule
    return rule


def rule(
    code: str,
    name: str,
    severity: Severity,
    summary: str,
    kinds: Iterable[str] | None = None,
    once_per: str | None = None,
    fix: str | None = None,
) -> Callable[[CheckFn], CheckFn]:
    """Register a statement rule: ``@rule("SL102", "create-index-non-concurrently", …)``; ``fix``: "safe" or
    "unsafe" when some of its findings carry an edit."""

    def decorate(fn: CheckFn) -> CheckFn:
        register(
            Rule(code, name, severity, summary, frozenset(kinds) if kinds is not None else None, check=fn,
                 once_per=once_per, fix=fix)
        )
        return fn

    return decorate


def file_rule(code: str, name: str, severity: Severity, summary: str) -> Callable[[FinishFn], FinishFn]:
    """Register a rule that looks at a whole file once its statements were seen."""

    def decorate(fn: FinishFn) -> FinishFn:
        register(Rule(code, name, severity, summary, frozenset(), finish=fn))
        return fn

    return decorate


def meta_rule(code: str, name: str, severity: Severity, summary: str) -> None:
    """A rule the engine itself raises (syntax errors, unreadable files, bad suppressions)."""
    register(Rule(code, name, severity, summary, frozenset()))
