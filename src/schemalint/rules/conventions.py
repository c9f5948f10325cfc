"""SL4xx: schema design conventions from the house guide (configurable in
``[tool.schemalint.conventions]``)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from schemalint.context import Context
from schemalint.findings import Edit, Hit, Severity
from schemalint.model.types import ColumnType, column_type
from schemalint.patterns import search
from schemalint.rules.alter import (
    added_columns,
    added_constraints,
    alter_commands,
    declared_constraints,
)
from schemalint.rules.base import rule
from schemalint.rules.tables import (
    create_columns,
    has_primary_key,
    is_partition,
    is_temporary,
)
from schemalint.sql.names import QName, quote_ident
from schemalint.sql.nodes import Node, unwrap
from schemalint.sql.objects import select_into
from schemalint.sql.parse import Statement
from schemalint.sql.scan import scan_sql


@rule("SL401", "table-without-primary-key", Severity.WARNING,
      "CREATE TABLE (or CREATE TABLE … AS, SELECT … INTO) with no primary key.",
      kinds=["CreateStmt", "CreateTableAsStmt", "SelectStmt"])
def table_without_primary_key(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    as_table = select_into(stmt.kind, stmt.node) if stmt.kind == "SelectStmt" else stmt.node
    if stmt.kind != "CreateStmt":
        if as_table is None or as_table.get("objtype") == "OBJECT_MATVIEW":
            return
        into = as_table.get("into") or {}
        rel = into.get("rel") or {}
        if rel.get("relpersistence") == "t":
            return
        if _primary_key_added_later(ctx, ctx.rv(rel)):
            return
        name = ctx.name(ctx.rv(rel))
        spelled = f"SELECT … INTO {name}" if stmt.kind == "SelectStmt" else f"CREATE TABLE {name} AS …"
        yield Hit(f"{spelled} creates a table with no primary key",
                  f"ALTER TABLE {name} ADD PRIMARY KEY (…);  -- right after creating it, while it is new")
        return
    if is_temporary(stmt) or is_partition(stmt):  # a partition has its parent's key (INHERITS children do not)
        return
    if has_primary_key(stmt) or _primary_key_added_later(ctx, ctx.rv(stmt.node.get("relation"))):
        return
    name = ctx.name(ctx.rv(stmt.node.get("relation")))
    yield Hit(
        f"CREATE TABLE {name} has no primary key: rows cannot be addressed reliably, logical replication cannot "
        f"replicate UPDATEs and DELETEs, and duplicates creep in",
        f"Add one, e.g. `{quote_ident(ctx.rv(stmt.node.get('relation'))[1] + '_id')} bigint GENERATED ALWAYS AS "
        f"IDENTITY PRIMARY KEY` (or `uuid PRIMARY KEY DEFAULT gen_random_uuid()`).",
    )


def _primary_key_added_later(ctx: Context, table: QName) -> bool:
    """A later statement of the file gives the new table its primary key (``ALTER TABLE t ADD PRIMARY KEY``)."""
    for later in ctx.later_statements():
        if later.kind != "AlterTableStmt" or ctx.rv(later.node.get("relation")) != table:
            continue
        for cmd in alter_commands(later, "AT_AddConstraint"):
            if unwrap(cmd.get("def"))[1].get("contype") == "CONSTR_PRIMARY":
                return True
    return False


@rule("SL402", "missing-audit-columns", Severity.WARNING,
      "CREATE TABLE lacks the configured audit columns (created_at, updated_at).", kinds=["CreateStmt"])
def missing_audit_columns(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    if is_temporary(stmt) or is_partition(stmt):
        return
    present = {c.name for c in create_columns(stmt)}
    missing = [c for c in ctx.option("conventions", "audit-columns") if c not in present]
    if not missing:
        return
    name = ctx.name(ctx.rv(stmt.node.get("relation")))
    yield Hit(
        f"CREATE TABLE {name} lacks the audit column{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
        "Add:\n" + "\n".join(f"    {quote_ident(c)} TIMESTAMPTZ DEFAULT NOW() NOT NULL," for c in missing),
    )


def _new_column_types(stmt: Statement) -> Iterator[tuple[str, ColumnType, int | None]]:
    if stmt.kind == "CreateStmt":
        for col in create_columns(stmt):
            if col.type is not None:
                yield col.name, col.type, col.location
    elif stmt.kind == "AlterTableStmt":
        for added in added_columns(stmt):
            if added.type is not None:
                yield added.name, added.type, added.location
        for cmd in alter_commands(stmt, "AT_AlterColumnType"):
            _, definition = unwrap(cmd.get("def"))
            ctype = column_type(definition.get("typeName"))
            if ctype is not None:
                yield str(cmd.get("name", "")), ctype, definition.get("location")


def _table_of(stmt: Statement, ctx: Context) -> str:
    return ctx.name(ctx.rv(stmt.node.get("relation")))


def _column_extent(ctx: Context, location: int | None) -> tuple[int, None, int | None]:
    """(start, no fix, end) of one column definition: from its name to the comma or parenthesis that ends it,
    so the finding underlines that column, not the whole CREATE TABLE."""
    stmt = ctx.statement
    start = stmt.offset_of(location)
    if location is None or not stmt.start <= start < stmt.end:
        return start, None, None
    text = ctx.source.text
    end = scan_sql(text, start, stmt.end, lambda i: text[i] == "," or text[i] == ";")
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, None, end if end > start else None


_TIMESTAMP = re.compile(r"\btimestamp\b(\s*\(\s*\d+\s*\))?(\s+without\s+time\s+zone)?", re.I)
_JSON = re.compile(r"\bjson\b(?!b)", re.I)


def _type_fix(ctx: Context, stmt: Statement, start: int, end: int | None, pattern: re.Pattern[str],
              replacement: str) -> Edit | None:
    """A new table's column type replaced (unsafe: the schema differs, by design). Only in CREATE TABLE: a
    column added to an existing table is a reviewed change of its own."""
    if stmt.kind != "CreateStmt" or end is None or ctx.current is not None:
        return None
    text = ctx.source.text
    name = re.match(r'\s*(?:"(?:[^"]|"")*"|[^\s]+)\s+', text[start:end])
    if name is None:
        return None
    found = pattern.search(text, start + name.end(), end)
    if found is None or found.start() != start + name.end():
        return None
    precision = found.group(1) if found.lastindex and found.group(1) else ""
    return Edit(found.start(), found.end(), replacement + (precision.replace(" ", "") if precision else ""),
                safe=False)


def _json_fix(ctx: Context, stmt: Statement, location: int | None) -> tuple[int, Edit | None, int | None]:
    start, _, end = _column_extent(ctx, location)
    return start, _type_fix(ctx, stmt, start, end, _JSON, "jsonb"), end


@rule("SL403", "timestamp-without-time-zone", Severity.WARNING,
      "A column of type timestamp (without time zone).", kinds=["CreateStmt", "AlterTableStmt"], fix="unsafe")
def timestamp_without_time_zone(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    for name, ctype, location in _new_column_types(stmt):
        if ctype.name != "timestamp":
            continue
        start, _, end = _column_extent(ctx, location)
        yield Hit(
            f"{_table_of(stmt, ctx)}.{quote_ident(name)} is {ctype}: it stores wall-clock time with no zone, so "
            f"values written from servers or sessions in different time zones silently disagree",
            f"Use timestamptz{'[]' * ctype.array_dims} (timestamp with time zone): it stores an instant.",
            start, _type_fix(ctx, stmt, start, end, _TIMESTAMP, "timestamptz"), end,
            subject=f"{_table_of(stmt, ctx)}.{quote_ident(name)}",
        )


@rule("SL404", "prefer-identity", Severity.WARNING,
      "A new column of type serial/bigserial/smallserial.", kinds=["CreateStmt", "AlterTableStmt"])
def prefer_identity(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    for name, ctype, location in _new_column_types(stmt):
        if not ctype.is_serial:
            continue
        base = {"serial": "integer", "bigserial": "bigint", "smallserial": "smallint"}[ctype.name]
        yield Hit(
            f"{_table_of(stmt, ctx)}.{quote_ident(name)} is {ctype.name}: a sequence default with separate "
            f"ownership and permissions, which INSERTs can bypass",
            f"{quote_ident(name)} {base} GENERATED ALWAYS AS IDENTITY  -- the SQL-standard form (PG10+)",
            *_column_extent(ctx, location), subject=f"{_table_of(stmt, ctx)}.{quote_ident(name)}",
        )


_CONSTRAINT_PATTERN = {
    "CONSTR_UNIQUE": ("unique-pattern", "unique constraint"),
    "CONSTR_CHECK": ("check-pattern", "check constraint"),
    "CONSTR_FOREIGN": ("foreign-key-pattern", "foreign key"),
    "CONSTR_PRIMARY": ("primary-key-pattern", "primary key"),
}


def _constraint_name_problem(ctx: Context, con: Node, table: QName, existing: bool) -> tuple[str, str] | None:
    """(what is off the convention, the pattern) for one constraint, or None."""
    contype = con.get("contype")
    if contype not in _CONSTRAINT_PATTERN:
        return None
    key, label = _CONSTRAINT_PATTERN[str(contype)]
    pattern = str(ctx.option("conventions", key))
    name = con.get("conname")
    if not name:
        return (f"an unnamed {label} on the existing table {ctx.name(table)}", pattern) if existing else None
    if not search(pattern, name):
        return f"{label} name {quote_ident(name)}", pattern
    return None


@rule("SL405", "naming-convention", Severity.WARNING,
      "Index and constraint names not matching the configured patterns; unnamed constraints on existing tables.",
      kinds=["IndexStmt", "CreateStmt", "AlterTableStmt"])
def naming_convention(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    if stmt.kind == "IndexStmt":
        name = stmt.node.get("idxname")
        patterns = [ctx.option("conventions", "index-pattern")]
        if stmt.node.get("unique"):
            patterns.append(ctx.option("conventions", "unique-pattern"))
        if not name:
            yield Hit("Unnamed index: PostgreSQL generates a name that later migrations must guess",
                      f"Name it to match {patterns[0]!r}: CREATE INDEX idx_<table>_<columns> …")
        elif not any(search(p, name) for p in patterns):
            yield Hit(f"Index name {quote_ident(name)} does not match the convention {' or '.join(map(repr, patterns))}",
                      "Name indexes idx_<table>_<columns> (unique ones may use uk_).")
        return
    table = ctx.rv(stmt.node.get("relation"))
    if stmt.kind == "CreateStmt":  # unnamed constraints of a new table are fine
        constraints, existing = [con for _, con in declared_constraints(stmt)], False
    else:
        constraints, existing = list(added_constraints(stmt)), not ctx.is_new(table)
    problems = [(con, problem) for con in constraints
                if (problem := _constraint_name_problem(ctx, con, table, existing)) is not None]
    if not problems:
        return
    named = "; ".join(f"{what} does not match {pattern!r}" if not what.startswith("an unnamed") else
                      f"{what}: PostgreSQL generates its name, and later migrations (and rollbacks) must guess it"
                      for _, (what, pattern) in problems)
    yield Hit(named[0].upper() + named[1:],
              "Name constraints to match the conventions (the guide's prefixes: pk_, uk_, chk_, fk_; indexes idx_): "
              "ADD CONSTRAINT <name> …",
              ctx.statement.offset_of(problems[0][0].get("location")))


@rule("SL407", "json-instead-of-jsonb", Severity.WARNING,
      "A column of type json.", kinds=["CreateStmt", "AlterTableStmt"], fix="unsafe")
def json_instead_of_jsonb(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    for name, ctype, location in _new_column_types(stmt):
        if ctype.name == "json":
            yield Hit(
                f"{_table_of(stmt, ctx)}.{quote_ident(name)} is json: stored as text, re-parsed on every access, "
                f"no equality operator and no GIN indexing",
                f"Use jsonb{'[]' * ctype.array_dims}.", *_json_fix(ctx, stmt, location),
                subject=f"{_table_of(stmt, ctx)}.{quote_ident(name)}")


@rule("SL408", "char-column", Severity.WARNING,
      "A column of type char / char(n) / character(n).", kinds=["CreateStmt", "AlterTableStmt"])
def char_column(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    for name, ctype, location in _new_column_types(stmt):
        if ctype.name == "bpchar":
            yield Hit(
                f"{_table_of(stmt, ctx)}.{quote_ident(name)} is {ctype}: values are blank-padded to the length, "
                f"trailing spaces are ignored in comparisons, and it is no faster than text",
                "Use text (or varchar(n) if the length limit is a business rule), with a CHECK for fixed-length codes.",
                *_column_extent(ctx, location), subject=f"{_table_of(stmt, ctx)}.{quote_ident(name)}")
