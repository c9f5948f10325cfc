"""SL010-SL012: the migration file's name, header block and rollback section (the house guide's layout)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from schemalint.context import FileContext
from schemalint.findings import Hit, Severity
from schemalint.patterns import search
from schemalint.rules.base import file_rule

_HEADER_FIELD = re.compile(r"^\s*--\s*([A-Za-z][A-Za-z ]*?)\s*:\s*(.*)$")


@file_rule("SL010", "migration-filename", Severity.WARNING,
           "The migration file name does not match the configured pattern (YYYYMMDD_HHMMSS_name.sql).")
def migration_filename(ctx: FileContext) -> Iterator[Hit]:
    pattern = ctx.option("migration-file", "filename-pattern")
    name = ctx.file.rsplit("/", 1)[-1]
    if ctx.file == "-" or search(pattern, name):
        return
    yield Hit(f"File name {name!r} does not match the migration naming pattern {pattern}",
              "Name migrations YYYYMMDD_HHMMSS_descriptive_name.sql, e.g. "
              "20241008_143000_add_customer_health_score_to_accounts.sql", 0)


def header_fields(text: str) -> dict[str, str]:
    """``Field: value`` lines of the comment block at the top of the file."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            break
        match = _HEADER_FIELD.match(stripped)
        if match:
            fields.setdefault(match.group(1).strip().lower(), match.group(2).strip())
    return fields


@file_rule("SL011", "migration-header", Severity.WARNING,
           "The migration's header block lacks a required field (MIGRATION, Version, Author, …).")
def migration_header(ctx: FileContext) -> Iterator[Hit]:
    required = ctx.option("migration-file", "required-header-fields")
    fields = header_fields(ctx.source.text)
    missing = [f for f in required if not fields.get(f.lower())]
    if not missing:
        return
    yield Hit(
        f"Migration header lacks {', '.join(missing)}",
        "Start the file with the guide's header block:\n"
        "-- =====================================================\n"
        + "\n".join(f"-- {f}: …" for f in required)
        + "\n-- =====================================================",
        0,
    )


@file_rule("SL012", "missing-rollback", Severity.WARNING,
           "No rollback: no DOWN section in the file and no sibling down file.")
def missing_rollback(ctx: FileContext) -> Iterator[Hit]:
    if ctx.sections.style is not None or ctx.has_rollback_file:
        return
    for marker in ctx.option("migration-file", "rollback-markers"):
        if search(marker, ctx.source.text, ignore_case=True, multi_line=True):
            return
    yield Hit(
        "This migration has no rollback: no DOWN MIGRATION section, no -- migrate:down / -- +goose Down part, and "
        "no sibling down file",
        "End the file with the guide's rollback section:\n"
        "-- =====================================================\n"
        "-- DOWN MIGRATION (ROLLBACK)\n"
        "-- =====================================================\n"
        "/*\n-- the statements that undo this migration, in reverse order\n*/",
        0,
    )
