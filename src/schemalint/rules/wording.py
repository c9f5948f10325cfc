"""How messages and help texts say things (rules never print): locks and what they block, and the recipe
engine's statements as help."""

from __future__ import annotations

from schemalint.authoring.recipe import RecipeEngine, Step
from schemalint.model.locks import LockMode


def lock_phrase(mode: LockMode, table: str, duration: str = "") -> str:
    """"takes a SHARE lock on accounts for the whole build, blocking writes … but not reads"."""
    during = f" {duration}" if duration else ""
    return f"takes {mode.article} {mode.label} lock on {table}{during}, blocking {mode.blocks}"


def locks_phrase(locks: list[tuple[LockMode, str]], duration: str = "") -> str:
    """One lock per relation: "takes an ACCESS EXCLUSIVE lock on t (blocking every read and write) and a SHARE
    ROW EXCLUSIVE lock on u (blocking writes …)"; the same lock on several: "… lock on t and u, blocking …"."""
    merged: dict[LockMode, list[str]] = {}
    for mode, name in locks:
        if name not in merged.setdefault(mode, []):
            merged[mode].append(name)
    if len(merged) == 1:
        ((mode, names),) = merged.items()
        return lock_phrase(mode, " and ".join(names), duration)
    during = f" {duration}" if duration else ""
    parts = [f"{mode.article} {mode.label} lock on {' and '.join(names)} (blocking {mode.blocks})"
             for mode, names in sorted(merged.items(), reverse=True)]
    return f"takes {' and '.join(parts)}{during}"


def steps_text(steps: list[Step]) -> str:
    """The recipe engine's steps as a help text: each statement with its note as a trailing comment."""
    return "\n".join(f"{s.sql}  -- {s.note}" if s.note else s.sql for s in steps)


def not_valid_steps(table: str, constraint_sql: str, constraint_name: str) -> str:
    """ADD a constraint NOT VALID (a brief lock, new rows checked), then VALIDATE it under a weak lock — the
    recipe engine's statements, so help, generator and fix say the same."""
    return steps_text(RecipeEngine().not_valid(table, constraint_sql, constraint_name))


def set_not_null_steps(table_sql: str, column: str) -> str:
    """PG12+: SET NOT NULL without its full-table scan, proven by a validated CHECK (col IS NOT NULL)."""
    return steps_text(RecipeEngine().set_not_null(table_sql, column).steps)
