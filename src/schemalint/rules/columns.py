"""ADD COLUMN hazards: SL101 (NOT NULL without default), SL110 (volatile default), SL111 (stored
generated column), SL112 (serial/identity column)."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.context import Context
from schemalint.findings import Hit, Severity
from schemalint.model.volatility import VOLATILE, expression_volatility, is_null_constant
from schemalint.rules.alter import added_columns, type_sql
from schemalint.rules.base import rule
from schemalint.rules.wording import lock_phrase, set_not_null_steps
from schemalint.sql.names import quote_ident
from schemalint.sql.parse import Statement
from schemalint.sql.scan import expression_at, parenthesized_after


@rule("SL101", "add-column-not-null-without-default", Severity.ERROR,
      "ADD COLUMN … NOT NULL without a DEFAULT on an existing table fails on existing rows and breaks inserts.",
      kinds=["AlterTableStmt"])
def add_column_not_null_without_default(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    table = ctx.existing_table(stmt)
    if table is None:
        return
    name = ctx.name(table)
    for col in added_columns(stmt):
        if not col.constraint("CONSTR_NOTNULL", "CONSTR_PRIMARY"):
            continue
        default = col.default_expr
        if col.constraint("CONSTR_IDENTITY", "CONSTR_GENERATED") or (col.type and col.type.is_serial):
            continue
        if default is not None and not is_null_constant(default):
            continue
        column = quote_ident(col.name)
        ctype = type_sql(col, stmt)
        yield Hit(
            f"ADD COLUMN {name}.{column} {ctype} NOT NULL without a DEFAULT fails with \"column contains null "
            f"values\" as soon as {name} has a row, and every INSERT from the running application that does not "
            f"set {column} fails after it (the ALTER {lock_phrase(ctx.lock_of(stmt, table), name)})",
            f"{ctx.lock_timeout_prefix()}"
            f"ALTER TABLE {name} ADD COLUMN {column} {ctype} DEFAULT <value>;  -- PG11+: no rewrite\n"
            f"-- backfill existing rows in batches, each in its own transaction, if they need other values\n"
            + set_not_null_steps(name, col.name),
            ctx.statement.offset_of(col.location), subject=f"{name}.{quote_ident(col.name)}",
        )


@rule("SL110", "volatile-default-rewrites-table", Severity.ERROR,
      "ADD COLUMN with a volatile DEFAULT (or any default before PG11) rewrites the whole table.",
      kinds=["AlterTableStmt"])
def volatile_default_rewrites_table(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    table = ctx.existing_table(stmt)
    if table is None:
        return
    name = ctx.name(table)
    key = ctx.batch_key(table)
    for col in added_columns(stmt):
        default = col.default_expr
        if default is None or is_null_constant(default):
            continue
        column = quote_ident(col.name)
        ctype = type_sql(col, stmt)
        rewrite = lock_phrase(ctx.lock_of(stmt, table), name, "while it rewrites every row")
        default_con = col.constraint("CONSTR_DEFAULT") or {}
        keyword_at = ctx.statement.offset_of(default_con.get("location"))
        text = stmt.source.text
        expression = None
        if text[keyword_at : keyword_at + 7].upper() == "DEFAULT":
            expression = expression_at(text, keyword_at + 7, stmt.end)
        expression = expression or "<expression>"
        backfill_help = (
            f"{ctx.lock_timeout_prefix()}"
            f"ALTER TABLE {name} ADD COLUMN {column} {ctype};\n"
            f"ALTER TABLE {name} ALTER COLUMN {column} SET DEFAULT {expression};  -- new rows only, no rewrite\n"
            f"-- then fill existing rows in batches, each in its own transaction:\n"
            f"UPDATE {name} SET {column} = {expression} WHERE {key} IN (SELECT {key} FROM {name} "
            f"WHERE {column} IS NULL LIMIT 5000);"
        )
        if ctx.target_postgres < 11:
            yield Hit(
                f"ADD COLUMN {name}.{column} with a DEFAULT on PostgreSQL {ctx.target_postgres} {rewrite}; "
                f"PG11+ stores a non-volatile default without a rewrite",
                backfill_help, ctx.statement.offset_of(col.location), subject=f"{name}.{column}")
            continue
        volatility = expression_volatility(default, ctx.model)
        if volatility.level != VOLATILE:
            continue
        if volatility.unknown:
            why = (f"{volatility.culprit}() is not a built-in schemalint knows and was not created earlier in the "
                   f"run, so it is treated as volatile")
        elif volatility.from_run:
            why = f"{volatility.culprit}() was created earlier in the run as VOLATILE"
        else:
            why = f"{volatility.culprit}() is volatile"
        yield Hit(
            f"ADD COLUMN {name}.{column} DEFAULT {volatility.culprit}(…) must compute the default for every "
            f"existing row and {rewrite} ({why})",
            backfill_help, ctx.statement.offset_of(col.location), subject=f"{name}.{column}")


@rule("SL111", "stored-generated-column", Severity.ERROR,
      "ADD COLUMN … GENERATED ALWAYS AS (…) STORED on an existing table rewrites it under ACCESS EXCLUSIVE.",
      kinds=["AlterTableStmt"])
def stored_generated_column(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    table = ctx.existing_table(stmt)
    if table is None:
        return
    name = ctx.name(table)
    key = ctx.batch_key(table)
    for col in added_columns(stmt):
        generated = col.constraint("CONSTR_GENERATED")
        if generated is None:
            continue
        if generated.get("generated_kind", "s") == "v":
            continue  # VIRTUAL: computed on read, no rewrite (PG18+); before 18 a syntax error, which is SL001's
        column = quote_ident(col.name)
        ctype = type_sql(col, stmt)
        start = ctx.statement.offset_of(generated.get("location"))
        expression = parenthesized_after(stmt.source.text, start, stmt.end) or "<expression>"
        virtual = (f"\nOn PostgreSQL 18+ a VIRTUAL generated column is computed on read and adds no rewrite:\n"
                   f"ALTER TABLE {name} ADD COLUMN {column} {ctype} GENERATED ALWAYS AS ({expression}) VIRTUAL;")
        yield Hit(
            f"ADD COLUMN {name}.{column} GENERATED ALWAYS AS (…) STORED computes the value for every existing row: "
            f"it {lock_phrase(ctx.lock_of(stmt, table), name, 'while it rewrites the table')}",
            f"Add a plain nullable column, keep it up to date from the application or a BEFORE INSERT OR UPDATE "
            f"trigger, and backfill existing rows in batches:\n"
            f"ALTER TABLE {name} ADD COLUMN {column} {ctype};\n"
            f"UPDATE {name} SET {column} = {expression} WHERE {key} IN (SELECT {key} FROM {name} "
            f"WHERE {column} IS NULL LIMIT 5000);  -- repeat, one transaction per batch"
            + (virtual if ctx.target_postgres < 18 else ""),
            ctx.statement.offset_of(col.location), subject=f"{name}.{quote_ident(col.name)}",
        )


@rule("SL112", "serial-or-identity-column", Severity.ERROR,
      "ADD COLUMN of serial/bigserial or GENERATED … AS IDENTITY on an existing table rewrites it.",
      kinds=["AlterTableStmt"])
def serial_or_identity_column(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    table = ctx.existing_table(stmt)
    if table is None:
        return
    name = ctx.name(table)
    for col in added_columns(stmt):
        identity = col.constraint("CONSTR_IDENTITY")
        serial = col.type is not None and col.type.is_serial
        if not identity and not serial:
            continue
        column = quote_ident(col.name)
        what = f"{col.type}" if serial else "GENERATED … AS IDENTITY"
        base = "bigint" if (col.type and col.type.name in ("bigserial", "int8")) else (
            "smallint" if col.type and col.type.name in ("smallserial", "int2") else "integer" if serial else str(col.type or "bigint"))
        seq = quote_ident(f"{table[1]}_{col.name}_seq"[:63])
        yield Hit(
            f"ADD COLUMN {name}.{column} {what} fills every existing row from a sequence: it "
            f"{lock_phrase(ctx.lock_of(stmt, table), name, 'while it rewrites the table')}",
            f"{ctx.lock_timeout_prefix()}"
            f"CREATE SEQUENCE {seq} AS {base};\n"
            f"ALTER TABLE {name} ADD COLUMN {column} {base};\n"
            f"ALTER TABLE {name} ALTER COLUMN {column} SET DEFAULT nextval('{seq}');  -- new rows only\n"
            f"ALTER SEQUENCE {seq} OWNED BY {name}.{column};\n"
            f"-- backfill existing rows in batches: UPDATE {name} SET {column} = nextval('{seq}') WHERE … LIMIT 5000;\n"
            f"-- then make it NOT NULL without a scan (see SL108) and add a unique index CONCURRENTLY if needed",
            ctx.statement.offset_of(col.location), subject=f"{name}.{quote_ident(col.name)}",
        )
