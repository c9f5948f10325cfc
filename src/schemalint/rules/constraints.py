"""Constraints: SL105 (FK without NOT VALID), SL106 (CHECK without NOT VALID), SL107 (VALIDATE in the
same transaction), SL108 (SET NOT NULL scans), SL109 (constraint builds an index), SL119 (CHECK
expression PostgreSQL rejects or cannot keep true)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from schemalint.authoring.recipe import RecipeError
from schemalint.context import Context
from schemalint.findings import Edit, Hit, Severity
from schemalint.model.pg_names import constraint_name
from schemalint.model.volatility import (
    IMMUTABLE,
    aggregate_in,
    expression_volatility,
    is_null_constant,
    subquery_in,
)
from schemalint.rules.alter import (
    added_columns,
    added_constraints,
    alter_commands,
    declared_constraints,
)
from schemalint.rules.base import rule
from schemalint.rules.edits import recipes, replace_statement, single_command
from schemalint.rules.wording import lock_phrase, locks_phrase, not_valid_steps, set_not_null_steps
from schemalint.sql.names import QName, qualify, quote_ident, strings
from schemalint.sql.nodes import Node, unwrap
from schemalint.sql.parse import Statement
from schemalint.sql.scan import scan_sql, squeeze


def _constraint_sql(stmt: Statement, con: Node) -> str:
    """The user's ``[CONSTRAINT name] …`` text of one ADD CONSTRAINT, up to the next top-level comma."""
    text = stmt.source.text
    start = stmt.offset_of(con.get("location"))
    return squeeze(text[start : scan_sql(text, start, stmt.end, lambda i: text[i] == ",")])


def _constraint_name(table: QName, con: Node, kind: str, columns: tuple[str, ...]) -> str:
    return str(con.get("conname") or constraint_name(table[1], kind, columns))


def _named_constraint_sql(stmt: Statement, table: QName, con: Node, kind: str,
                          columns: tuple[str, ...]) -> tuple[str, str]:
    """(quoted name, ``CONSTRAINT name …`` text) of an added constraint; an unnamed one gets the name
    PostgreSQL would generate, so the recipe's VALIDATE can refer to it."""
    name = quote_ident(_constraint_name(table, con, kind, columns))
    body = _constraint_sql(stmt, con)
    return name, body if con.get("conname") else f"CONSTRAINT {name} {body}"


def _not_valid_fix(stmt: Statement, ctx: Context, table_sql: str, body: str, name: str) -> Edit | None:
    """ADD CONSTRAINT … → ADD CONSTRAINT … NOT VALID + VALIDATE (unsafe: the check moves to a second
    transaction)."""
    if single_command(stmt) is None:
        return None
    return replace_statement(ctx, stmt, recipes(ctx).not_valid(table_sql, body, name), safe=False)


def _inline_check_fix(stmt: Statement, ctx: Context, table: QName, column: str, location: int | None) -> Edit | None:
    """ADD COLUMN c … CHECK (…) → the column, then the CHECK NOT VALID under the name PostgreSQL would have
    given it, then VALIDATE."""
    if single_command(stmt) is None or location is None:
        return None
    text = stmt.source.text
    start = stmt.offset_of(location)
    head = re.match(r'\s*(?:"(?:[^"]|"")*"|[^\s]+)\s+', text[start:stmt.end])
    if head is None:
        return None
    definition = text[start + head.end():stmt.end]
    try:
        recipe = recipes(ctx).add_column(ctx.name(table), column, definition, pg_names=True)
    except RecipeError:
        return None
    return replace_statement(ctx, stmt, recipe.steps, safe=False)


@rule("SL105", "foreign-key-without-not-valid", Severity.ERROR,
      "A foreign key added to an existing table without NOT VALID scans it while blocking writes to both tables.",
      kinds=["AlterTableStmt"], fix="unsafe")
def foreign_key_without_not_valid(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    table = ctx.existing_table(stmt)
    if table is None:
        return
    name = ctx.name(table)
    for con in added_constraints(stmt, "CONSTR_FOREIGN"):
        if con.get("skip_validation"):
            continue
        ref = ctx.rv(con.get("pktable"))
        cname, body = _named_constraint_sql(stmt, table, con, "FOREIGN", tuple(strings(con.get("fk_attrs"))))
        held = [(ctx.lock_of(stmt, table), name)]
        if ref != table:
            held.append((ctx.lock_of(stmt, ref), ctx.name(ref)))
        yield Hit(
            f"ADD FOREIGN KEY {cname} on {name} checks every existing row while it "
            f"{locks_phrase(held, 'for the whole scan')}",
            ctx.lock_timeout_prefix() + not_valid_steps(name, body, cname),
            ctx.statement.offset_of(con.get("location")),
            fix=_not_valid_fix(stmt, ctx, name, body, cname), subject=cname,
        )
    for col in added_columns(stmt):
        fk = col.constraint("CONSTR_FOREIGN")
        default = col.default_expr
        if fk is None or default is None or is_null_constant(default):
            continue  # a new all-NULL column needs no validation scan (checked on PostgreSQL 15)
        column = quote_ident(col.name)
        ref = ctx.rv(fk.get("pktable"))
        yield Hit(
            f"ADD COLUMN {name}.{column} REFERENCES {ctx.name(ref)} with a non-null DEFAULT validates the key for "
            f"every existing row while it "
            f"{locks_phrase([(ctx.lock_of(stmt, table), name), (ctx.lock_of(stmt, ref), ctx.name(ref))])}",
            f"Add the column first, then the key as NOT VALID, and validate it separately:\n"
            f"ALTER TABLE {name} ADD COLUMN {column} … DEFAULT …;\n"
            f"ALTER TABLE {name} ADD CONSTRAINT {quote_ident(f'fk_{table[1]}_{col.name}'[:63])} FOREIGN KEY ({column}) "
            f"REFERENCES {ctx.name(ref)} NOT VALID;\n"
            f"ALTER TABLE {name} VALIDATE CONSTRAINT {quote_ident(f'fk_{table[1]}_{col.name}'[:63])};  -- separate transaction",
            ctx.statement.offset_of(col.location), subject=f"{name}.{column}",
        )


@rule("SL106", "check-without-not-valid", Severity.ERROR,
      "A CHECK added to an existing table (or domain) without NOT VALID scans under a lock that blocks writes.",
      kinds=["AlterTableStmt", "AlterDomainStmt"], fix="unsafe")
def check_without_not_valid(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    if stmt.kind == "AlterDomainStmt":
        yield from _domain_check(stmt, ctx)
        return
    table = ctx.existing_table(stmt)
    if table is None:
        return
    name = ctx.name(table)
    scan = lock_phrase(ctx.lock_of(stmt, table), name, "while it scans every row")
    for con in added_constraints(stmt, "CONSTR_CHECK"):
        if con.get("skip_validation"):
            continue
        cname, body = _named_constraint_sql(stmt, table, con, "CHECK", ())
        yield Hit(
            f"ADD CHECK {cname} on {name} validates every existing row and {scan}",
            ctx.lock_timeout_prefix() + not_valid_steps(name, body, cname),
            ctx.statement.offset_of(con.get("location")),
            fix=_not_valid_fix(stmt, ctx, name, body, cname), subject=cname,
        )
    for col in added_columns(stmt):
        check = col.constraint("CONSTR_CHECK")
        if check is None:
            continue
        column = quote_ident(col.name)
        cname = quote_ident(f"chk_{table[1]}_{col.name}"[:63])
        expr = _constraint_sql(stmt, check)
        yield Hit(
            fix=_inline_check_fix(stmt, ctx, table, col.name, col.location),
            message=f"ADD COLUMN {name}.{column} with an inline CHECK cannot be NOT VALID: PostgreSQL {scan}, "
            f"even when the column gets a constant default (checked on PostgreSQL 15)",
            help=f"Add the column without the CHECK, then the CHECK as NOT VALID, and validate it separately:\n"
            f"{ctx.lock_timeout_prefix()}ALTER TABLE {name} ADD COLUMN {column} … ;  -- same type and default, no CHECK\n"
            f"ALTER TABLE {name} ADD CONSTRAINT {cname} {expr} NOT VALID;\n"
            f"ALTER TABLE {name} VALIDATE CONSTRAINT {cname};  -- separate transaction",
            location=ctx.statement.offset_of(check.get("location")), subject=f"{name}.{column}",
        )


def _domain_check(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    """ALTER DOMAIN … ADD CONSTRAINT … CHECK without NOT VALID: every table with a column of the domain is
    scanned under a SHARE lock (observed on PG15)."""
    _, con = unwrap(stmt.node.get("def"))
    if stmt.node.get("subtype") != "C" or con.get("contype") != "CONSTR_CHECK" or con.get("skip_validation"):
        return
    domain = qualify(strings(stmt.node.get("typeName")), ctx.settings.default_schema)
    known = ctx.model.types.get(domain)
    if known is not None and known.created_file == ctx.file:
        return  # a domain made in this file: no table uses it yet
    name = ctx.name(domain)
    cname = quote_ident(str(con.get("conname") or f"{domain[1]}_check"))
    tables = [ctx.name(t) for t in ctx.model.tables_using_type(domain) if ctx.is_existing(t)]
    users = (f"takes a SHARE lock on {' and '.join(tables)}, blocking writes (INSERT, UPDATE, DELETE) but not "
             f"reads, while it scans every row" if tables else
             "takes a SHARE lock on every table with a column of the domain (none known from the history), "
             "blocking writes (INSERT, UPDATE, DELETE) but not reads, while it scans every row")
    expr = _constraint_sql(stmt, con)
    yield Hit(
        f"ALTER DOMAIN {name} ADD CONSTRAINT {cname} validates every stored value of the domain and {users}",
        f"{ctx.lock_timeout_prefix()}ALTER DOMAIN {name} ADD {expr} NOT VALID;  -- new values are checked at once\n"
        f"ALTER DOMAIN {name} VALIDATE CONSTRAINT {cname};  -- later, at a quiet time: it still scans every table "
        f"using {name} under a SHARE lock (writes wait)",
        ctx.statement.offset_of(con.get("location")), subject=cname,
    )


@rule("SL107", "validate-in-same-transaction", Severity.ERROR,
      "VALIDATE CONSTRAINT in the transaction that added it NOT VALID (or after an ACCESS EXCLUSIVE lock).",
      kinds=["AlterTableStmt"])
def validate_in_same_transaction(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    if not ctx.in_transaction:
        return
    table = ctx.existing_table(stmt)
    if table is None:
        return
    name = ctx.name(table)
    known = ctx.model.table(table)
    for cmd in alter_commands(stmt, "AT_ValidateConstraint"):
        cname = str(cmd.get("name", ""))
        con = known.constraints.get(cname) if known else None
        same_tx = con is not None and con.created_tx == ctx.transaction.serial and con.created_file == ctx.file
        if same_tx:
            assert con is not None
            # ADD FOREIGN KEY takes SHARE ROW EXCLUSIVE (writes wait, reads go on), other constraints ACCESS
            # EXCLUSIVE (PG15 docs, ALTER TABLE); a stronger lock this transaction took on the table still counts
            foreign = con.kind == "FOREIGN" and table not in ctx.transaction.exclusive_locks
            lock = "SHARE ROW EXCLUSIVE" if foreign else "ACCESS EXCLUSIVE"
            held_on = name if not foreign or con.ref_table is None or con.ref_table == table else \
                f"{name} and {ctx.name(con.ref_table)}"
            reason = f"it was added NOT VALID earlier in this same transaction, whose {lock} lock on {held_on} is " \
                f"still held"
            waits = "every write waits for the whole scan (reads go on)" if foreign else \
                "every read and write waits for the whole scan"
        elif ctx.transaction.exclusive_locks:
            held = ", ".join(ctx.name(t) for t in ctx.transaction.exclusive_locks)
            reason = f"this transaction already holds an ACCESS EXCLUSIVE lock on {held}"
            waits = f"every read and write of {held} waits for the whole scan"
        else:
            continue
        yield Hit(
            f"VALIDATE CONSTRAINT {quote_ident(cname)} scans {name}, and {reason}: {waits}, which defeats NOT VALID",
            f"Commit first, then validate in its own transaction:\nCOMMIT;\n"
            f"ALTER TABLE {name} VALIDATE CONSTRAINT {quote_ident(cname)};",
        )


@rule("SL108", "set-not-null-scans-table", Severity.ERROR,
      "SET NOT NULL on an existing table scans it under ACCESS EXCLUSIVE unless a validated CHECK proves it.",
      kinds=["AlterTableStmt"], fix="unsafe")
def set_not_null_scans_table(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    table = ctx.existing_table(stmt)
    if table is None:
        return
    name = ctx.name(table)
    known = ctx.model.table(table)
    for cmd in alter_commands(stmt, "AT_SetNotNull"):
        column = str(cmd.get("name", ""))
        if known is not None and column in known.columns and known.columns[column].not_null:
            continue  # already NOT NULL in the history: PostgreSQL does nothing, no scan
        if ctx.target_postgres >= 12 and known is not None and any(
            c.kind == "CHECK" and c.validated and c.not_null_column == column for c in known.constraints.values()
        ):
            continue  # PG12+: a validated CHECK (col IS NOT NULL) lets SET NOT NULL skip the scan
        col = quote_ident(column)
        help_text = ctx.lock_timeout_prefix() + set_not_null_steps(name, column)
        if ctx.target_postgres < 12:
            help_text = (f"PostgreSQL {ctx.target_postgres} always scans for SET NOT NULL; keep the validated "
                         f"CHECK ({col} IS NOT NULL) NOT VALID constraint instead, or upgrade to PG12+ and use:\n" + help_text)
        fix = None
        if ctx.target_postgres >= 12 and single_command(stmt) is not None:
            fix = replace_statement(ctx, stmt, recipes(ctx).set_not_null(name, column).steps, safe=False)
        yield Hit(
            f"SET NOT NULL on {name}.{col} {lock_phrase(ctx.lock_of(stmt, table), name, 'while it scans every row')}",
            help_text, fix=fix, subject=f"{name}.{col}",
        )


@rule("SL109", "constraint-builds-index", Severity.ERROR,
      "ADD UNIQUE / PRIMARY KEY / EXCLUDE on an existing table builds its index under ACCESS EXCLUSIVE.",
      kinds=["AlterTableStmt"], fix="unsafe")
def constraint_builds_index(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    table = ctx.existing_table(stmt)
    if table is None:
        return
    name = ctx.name(table)
    build = lock_phrase(ctx.lock_of(stmt, table), name, "for the whole index build")
    for con in added_constraints(stmt, "CONSTR_UNIQUE", "CONSTR_PRIMARY", "CONSTR_EXCLUSION"):
        if con.get("indexname"):
            continue
        contype = con.get("contype")
        columns = tuple(strings(con.get("keys")))
        kind = {"CONSTR_UNIQUE": "UNIQUE", "CONSTR_PRIMARY": "PRIMARY", "CONSTR_EXCLUSION": "EXCLUSION"}[str(contype)]
        cname = quote_ident(_constraint_name(table, con, kind, columns))
        label = {"UNIQUE": "UNIQUE", "PRIMARY": "PRIMARY KEY", "EXCLUSION": "EXCLUDE"}[kind]
        if kind == "EXCLUSION":
            help_text = ("An exclusion constraint cannot be attached from a concurrently built index: add it in a "
                         "maintenance window, or enforce the rule in the application first.")
        else:
            cols = ", ".join(quote_ident(c) for c in columns)
            idx = quote_ident(f"{'pk' if kind == 'PRIMARY' else 'uk'}_{table[1]}_{'_'.join(columns)}"[:63])
            help_text = (
                f"Build the index without blocking writes, then attach it (a brief lock):\n"
                f"CREATE UNIQUE INDEX CONCURRENTLY {idx} ON {name} ({cols});  -- outside a transaction block\n"
                f"{ctx.lock_timeout_prefix()}ALTER TABLE {name} ADD CONSTRAINT {cname} {label} USING INDEX {idx};"
            )
            if kind == "PRIMARY":
                help_text += "\n(the key columns must already be NOT NULL, or this scans: see SL108)"
        fix = None
        known = ctx.model.table(table)
        keys_not_null = known is not None and all(c in known.columns and known.columns[c].not_null for c in columns)
        plain = single_command(stmt) is not None and columns and not con.get("including") and not con.get("options")
        if plain and (kind == "UNIQUE" or (kind == "PRIMARY" and keys_not_null)):
            recipe = recipes(ctx).add_unique(name, list(columns), _constraint_name(table, con, kind, columns),
                                            primary=kind == "PRIMARY")
            fix = replace_statement(ctx, stmt, recipe.steps, safe=False)
        yield Hit(f"ADD {label} {cname} on {name} builds a unique index and {build}", help_text,
                  ctx.statement.offset_of(con.get("location")), fix=fix, subject=cname)
    for col in added_columns(stmt):
        inline = col.constraint("CONSTR_UNIQUE", "CONSTR_PRIMARY")
        if inline is None:
            continue
        label = "PRIMARY KEY" if inline.get("contype") == "CONSTR_PRIMARY" else "UNIQUE"
        column = quote_ident(col.name)
        idx = quote_ident(f"uk_{table[1]}_{col.name}"[:63])
        yield Hit(
            f"ADD COLUMN {name}.{column} … {label} builds a unique index and {build}",
            f"Add the column, build the index concurrently, then attach it:\n"
            f"ALTER TABLE {name} ADD COLUMN {column} …;  -- without {label}\n"
            f"CREATE UNIQUE INDEX CONCURRENTLY {idx} ON {name} ({column});\n"
            f"ALTER TABLE {name} ADD CONSTRAINT {idx} {label} USING INDEX {idx};",
            ctx.statement.offset_of(inline.get("location")), subject=f"{name}.{column}",
        )


def _checks(stmt: Statement) -> Iterator[Node]:
    if stmt.kind == "CreateDomainStmt":
        yield from (con for con in (unwrap(c)[1] for c in stmt.node.get("constraints") or ())
                    if con.get("contype") == "CONSTR_CHECK")
    else:
        yield from (con for _, con in declared_constraints(stmt, "CONSTR_CHECK"))


@rule("SL119", "invalid-check-expression", Severity.ERROR,
      "A CHECK with a subquery or aggregate (rejected at run time) or a non-immutable function.",
      kinds=["AlterTableStmt", "CreateStmt", "CreateDomainStmt"])
def invalid_check_expression(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    problems: list[tuple[int, str, str]] = []  # (where, what is wrong, what to do), one per bad CHECK
    for con in _checks(stmt):
        expr: Any = con.get("raw_expr")
        where = ctx.statement.offset_of(con.get("location"))
        named = f"CHECK {quote_ident(str(con['conname']))}" if con.get("conname") else "CHECK"
        if subquery_in(expr):
            problems.append((where, f"{named} contains a subquery: PostgreSQL rejects it when the statement runs "
                                    "(\"cannot use subquery in check constraint\"), although it parses",
                             "A CHECK sees only the row being written. Enforce cross-row rules with a trigger, "
                             "or in the application."))
            continue
        aggregate = aggregate_in(expr)
        if aggregate:
            problems.append((where, f"{named} calls the aggregate {aggregate}(): PostgreSQL rejects aggregates in "
                                    "check constraints",
                             "A CHECK sees only the row being written; use a trigger for rules over many rows."))
            continue
        volatility = expression_volatility(expr, ctx.model)
        if volatility.level != IMMUTABLE and not volatility.unknown:
            origin = "was created in this run without IMMUTABLE" if volatility.from_run else f"is {volatility.level}"
            problems.append((where, f"{named} calls {volatility.culprit}(), which {origin}: PostgreSQL assumes a "
                                    "CHECK gives the same answer forever, so rows can silently stop satisfying it, "
                                    "and dump/restore can fail",
                             f"Use only immutable expressions in a CHECK. If {volatility.culprit}() really depends "
                             f"only on its arguments, declare it IMMUTABLE (CREATE OR REPLACE FUNCTION … IMMUTABLE); "
                             f"otherwise enforce the rule with a trigger."))
    if problems:  # one finding for the statement, each bad CHECK in it named
        yield Hit("; ".join(message for _, message, _ in problems),
                  "\n".join(dict.fromkeys(advice for _, _, advice in problems)), problems[0][0])
