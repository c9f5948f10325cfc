"""The rule registry. Each module registers its rules when imported; :func:`all_rules` loads them all."""

from __future__ import annotations

import importlib

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
    "file": ("SL010", "SL099"),
    "locks": ("SL100", "SL199"),
    "compatibility": ("SL200", "SL299"),
    "tenancy": ("SL300", "SL305"),
    "security": ("SL306", "SL399"),
    "conventions": ("SL400", "SL499"),
    "observed": ("SL500", "SL599"),
}


def family_of(code: str) -> str:
    return next((name for name, (first, last) in FAMILIES.items() if first <= code <= last), "")


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


def select_codes(select: list[str] | None, extend: list[str], ignore: list[str]) -> tuple[set[str], list[str]]:
    """Enabled codes from select/extend-select/ignore, and the tokens that matched nothing."""
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

    enabled = expand(select) if select is not None else {c for c, r in rules.items() if r.enabled_by_default}
    enabled |= expand(extend)
    enabled -= expand(ignore)
    enabled |= {"SL001"}  # a syntax error is always reported
    return enabled, unknown
