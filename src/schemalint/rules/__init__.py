"""The rule registry, the families rules belong to, and the rule sets a run starts from. Each module
registers its rules when imported; :func:`all_rules` loads them all."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from schemalint.rules.base import REGISTRY, Rule

RULE_MODULES = (
    "file_checks",
    "indexes",
    "columns",
    "constraints",
    "transactions",
    "timeouts",
    "backfills",
    "maintenance",
    "compatibility",
    "objects",
    "keys",
    "partitions",
    "combining",
    "enums",
    "tenancy",
    "conventions",
    "foreign_keys",
    "identifiers",
    "migration_file",
    "history_gate",
    "observed",
)


# Families by name, for select/ignore/extend-select and `schemalint rules`: what a rule is about. The SL3
# prefix holds two of them, so `ignore = ["tenancy"]` keeps the security rules.
FAMILIES: dict[str, tuple[str, str]] = {  # name → (first code, last code), inclusive
    "core": ("SL001", "SL009"),
    "file": ("SL010", "SL012"),
    "history": ("SL013", "SL099"),
    "locks": ("SL100", "SL199"),
    "compatibility": ("SL200", "SL299"),
    "tenancy": ("SL300", "SL305"),
    "security": ("SL306", "SL399"),
    "conventions": ("SL400", "SL499"),
    "observed": ("SL500", "SL599"),
}

# Rule sets (the catalogue's "Rule sets"). The default fits any PostgreSQL team; the tenancy rules join it
# when the history shows a multi-tenant schema (or `tenancy = true`); the guide preset adds what the house
# guide asks for. `select`/`ignore` work on top of either.
_TENANCY_RANGE = ("SL301", "SL305")
_GUIDE_RANGES = (("SL010", "SL012"), ("SL401", "SL408"))


def family_of(code: str) -> str:
    return next((name for name, (first, last) in FAMILIES.items() if first <= code <= last), "")


def preset_of(code: str) -> str:
    """Which set turns a rule on: "default", "tenancy" (the default set, when the history is multi-tenant) or
    "guide" (the guide preset)."""
    if _TENANCY_RANGE[0] <= code <= _TENANCY_RANGE[1]:
        return "tenancy"
    if any(first <= code <= last for first, last in _GUIDE_RANGES):
        return "guide"
    return "default"


def all_rules() -> dict[str, Rule]:
    for module in RULE_MODULES:
        importlib.import_module(f"schemalint.rules.{module}")
    return dict(sorted(REGISTRY.items()))


def resolve(token: str) -> str | None:
    """A code (``SL102``, any case) or a rule name → the code; None when unknown."""
    rules = all_rules()
    upper = token.upper()
    if upper in rules:
        return upper
    lowered = token.lower()
    for code, r in rules.items():
        if r.name == lowered:
            return code
    return None


@dataclass(frozen=True, slots=True)
class Selection:
    """The rules a run judges with. ``tenancy_detected``: tenancy rules that stay only if the history shows a
    multi-tenant schema (they came in with the default set, not by name)."""

    enabled: frozenset[str]
    tenancy_detected: frozenset[str]
    tenancy_forced: str | None  # why the tenancy rules are on regardless of the history ("tenancy = true", …)
    unknown: tuple[str, ...]


def select_rules(select: list[str] | None, extend: list[str], ignore: list[str], preset: str = "default",
                 tenancy: bool | None = None) -> Selection:
    """The run's rules from select/extend-select/ignore over the preset, and the tokens that matched nothing.
    ``tenancy``: True/False forces the tenancy rules on or off; None lets the history decide (the guide preset
    turns them on: the house guide is multi-tenant)."""
    rules = all_rules()
    unknown: list[str] = []

    def expand(tokens: list[str]) -> set[str]:
        out: set[str] = set()
        for token in tokens:
            upper = token.upper()
            if upper == "ALL":
                out |= set(rules)
                continue
            matched = {c for c in rules if c.startswith(upper)} if upper.startswith("SL") else set()
            if token.lower() in FAMILIES:
                matched |= {c for c in rules if family_of(c) == token.lower()}
            code = resolve(token)
            if code:
                matched.add(code)
            if not matched:
                unknown.append(token)
            out |= matched
        return out

    tenancy_codes = {c for c in rules if preset_of(c) == "tenancy"}
    forced: str | None = None
    detected: set[str] = set()
    if select is not None:
        enabled = expand(select)
    else:
        enabled = {c for c in rules if preset_of(c) == "default"}
        if preset == "guide":
            enabled |= {c for c in rules if preset_of(c) == "guide"}
        if tenancy is True or (tenancy is None and preset == "guide"):
            enabled |= tenancy_codes
            forced = "tenancy = true" if tenancy is True else "preset guide"
        elif tenancy is None:
            enabled |= tenancy_codes
            detected = set(tenancy_codes)
    extended = expand(extend)
    enabled |= extended
    enabled -= expand(ignore)
    enabled |= {"SL001"}  # a syntax error is always reported
    detected = (detected - extended) & enabled
    return Selection(frozenset(enabled), frozenset(detected), forced if enabled & tenancy_codes else None,
                     tuple(unknown))
