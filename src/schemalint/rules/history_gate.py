"""A PR gate over the migration history itself (only with ``--since REF``): SL013 out-of-order-migration and
SL014 applied-migration-edited. The facts come from git (gitref.py); the rules only compare them."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.context import FileContext
from schemalint.findings import Hit, Severity
from schemalint.rules.base import file_rule
from schemalint.sql.tokens import forward_tokens


def first_difference(old: str, new: str) -> int | None:
    """The offset in ``new`` where its forward SQL first differs from ``old``'s; None when they agree."""
    before, after = forward_tokens(old), forward_tokens(new)
    for (_, was), (offset, now) in zip(before, after, strict=False):
        if was != now:
            return offset
    if len(before) == len(after):
        return None
    return after[len(before)][0] if len(after) > len(before) else (after[-1][0] if after else 0)


@file_rule("SL013", "out-of-order-migration", Severity.ERROR,
           "With --since: a migration added since REF sorts before one that already exists at REF.")
def out_of_order_migration(ctx: FileContext) -> Iterator[Hit]:
    at_ref = ctx.at_ref
    if at_ref is None or at_ref.existed or at_ref.precedes is None:
        return
    yield Hit(
        f"{ctx.file} was added since {at_ref.ref} but sorts before {at_ref.precedes}, which already exists there: "
        f"databases that already ran {at_ref.precedes} are past this version, and runners that track the highest "
        "applied version (diesel, golang-migrate, goose without -allow-missing, Flyway without outOfOrder) skip "
        "it or refuse to run",
        f"Give it a version that sorts after {at_ref.precedes} (for a timestamped name, the current time), so "
        "every database runs it after the migrations it already has.",
        location=0,
    )


@file_rule("SL014", "applied-migration-edited", Severity.ERROR,
           "With --since: the forward SQL of a migration that exists at REF changed (comments and whitespace aside).")
def applied_migration_edited(ctx: FileContext) -> Iterator[Hit]:
    at_ref = ctx.at_ref
    if at_ref is None or at_ref.old_text is None:
        return
    if at_ref.renamed_from is not None:
        yield Hit(
            f"{ctx.file} is {at_ref.renamed_from} renamed since {at_ref.ref}: databases that already ran it "
            f"recorded it under its old version or name, so runners run it again as a new migration or report "
            f"{at_ref.renamed_from} as missing",
            f"Keep the file at {at_ref.renamed_from} as it was; put any new change in a new migration.",
            location=0,
        )
        return
    offset = first_difference(at_ref.old_text, ctx.source.text)
    if offset is None:
        return
    line = ctx.source.position(offset)[0]
    yield Hit(
        f"{ctx.file} already exists at {at_ref.ref} and its forward SQL changed since (first at line {line}): "
        "databases that already ran it will never run the new text, so they and fresh databases end up "
        "with different schemas",
        f"Restore {ctx.file} to its text at {at_ref.ref}, and write the change as a new migration "
        "(comments, whitespace and the rollback part may still be edited).",
        location=offset,
    )
