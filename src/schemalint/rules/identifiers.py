"""SL409 identifier-too-long: names PostgreSQL silently truncates to 63 bytes."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.context import Context
from schemalint.findings import Hit, Severity
from schemalint.model.pg_names import MAX_IDENTIFIER_BYTES, long_defined_names, truncate_identifier
from schemalint.rules.base import rule
from schemalint.sql.parse import Statement


@rule("SL409", "identifier-too-long", Severity.ERROR,
      "An identifier longer than 63 bytes: PostgreSQL silently truncates it.")
def identifier_too_long(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    for what, name, offset in long_defined_names(stmt.kind, stmt.node, lambda: stmt.text):
        short = truncate_identifier(name)
        size = len(name.encode("utf-8"))
        earlier = ctx.model.long_names.get(short)
        clash = ""
        if earlier is not None and earlier[0] != name:
            clash = (f"; it collides with {earlier[0]!r} (from {earlier[1]}), which truncates to the same name, so "
                     f"one of the two statements fails or refers to the other's object")
        yield Hit(
            f"The {what} name {name!r} is {size} bytes: PostgreSQL silently truncates it to {short!r} "
            f"(the limit is {MAX_IDENTIFIER_BYTES} bytes), so later statements that use the full name are "
            f"talking about the truncated one{clash}",
            f"Use a name of at most {MAX_IDENTIFIER_BYTES} bytes, e.g. {short[:50]!r}… shortened by hand.",
            stmt.start + offset, subject=repr(name),
        )
