"""Primary keys and unique keys of existing tables: SL122 primary-key-using-index-on-nullable, SL213
drop-unique-constraint."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.context import Context
from schemalint.findings import Hit, Severity
from schemalint.rules.alter import alter_commands
from schemalint.rules.base import rule
from schemalint.rules.wording import lock_phrase, set_not_null_steps
from schemalint.sql.names import QName, quote_ident, strings
from schemalint.sql.nodes import Node, unwrap
from schemalint.sql.objects import dropped_names
from schemalint.sql.parse import Statement


@rule("SL122", "primary-key-using-index-on-nullable", Severity.ERROR,
      "ADD PRIMARY KEY USING INDEX on a column not known NOT NULL: PostgreSQL sets NOT NULL with a full scan.",
      kinds=["AlterTableStmt"])
def primary_key_using_index_on_nullable(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    table = ctx.existing_table(stmt)
    if table is None:
        return
    for cmd in alter_commands(stmt, "AT_AddConstraint"):
        _, con = unwrap(cmd.get("def"))
        if con.get("contype") != "CONSTR_PRIMARY" or not con.get("indexname"):
            continue
        index = ctx.model.indexes.get((table[0], str(con["indexname"])))
        if index is None or None in index.columns:
            continue  # the index is not known from the history: its columns are not either
        nullable = [c for c in index.columns if c is not None and not _known_not_null(ctx, table, c)]
        if not nullable:
            continue
        name = ctx.name(table)
        columns = ", ".join(quote_ident(c) for c in nullable)
        steps = "\n".join(set_not_null_steps(name, c) for c in nullable)
        yield Hit(
            f"ADD PRIMARY KEY USING INDEX {quote_ident(index.name[1])} makes {columns} NOT NULL: PostgreSQL scans "
            f"every row of {name} to check it, while it {lock_phrase(ctx.lock_of(stmt, table), name)}",
            f"Prove NOT NULL first without the long lock (PG12+), then add the key:\n{steps}\n"
            f"ALTER TABLE {name} ADD {_constraint_words(con)}PRIMARY KEY USING INDEX {quote_ident(index.name[1])};"
            "  -- no scan", subject=quote_ident(index.name[1]),
        )


def _constraint_words(con: Node) -> str:
    return f"CONSTRAINT {quote_ident(str(con['conname']))} " if con.get("conname") else ""


def _known_not_null(ctx: Context, table: QName, column: str) -> bool:
    col = ctx.model.column(table, column)
    return col is not None and col.not_null


def _key_columns(ctx: Context, table: QName, con: Node) -> frozenset[str] | None:
    """The columns a PRIMARY KEY / UNIQUE constraint added in ``con`` covers (USING INDEX: the index's)."""
    if con.get("contype") not in ("CONSTR_PRIMARY", "CONSTR_UNIQUE"):
        return None
    if con.get("indexname"):
        index = ctx.model.indexes.get((table[0], str(con["indexname"])))
        created = _indexes_created(ctx).get((table[0], str(con["indexname"])))
        columns = created[1] if created is not None else (
            frozenset(c for c in index.columns if c is not None) if index is not None else None)
        return columns
    return frozenset(strings(con.get("keys")))


def _indexes_created(ctx: Context) -> dict[QName, tuple[QName, frozenset[str]]]:
    """Full unique indexes the file creates: name → (table, columns)."""
    out: dict[QName, tuple[QName, frozenset[str]]] = {}
    for later in ctx.statements:
        node = later.node
        if later.kind != "IndexStmt" or not node.get("unique") or node.get("whereClause") is not None:
            continue
        params = [unwrap(p)[1].get("name") for p in node.get("indexParams") or ()]
        if None in params:
            continue
        table = ctx.rv(node.get("relation"))
        out[(table[0], str(node.get("idxname", "")))] = (table, frozenset(str(p) for p in params))
    return out


def _replaced(ctx: Context, table: QName, columns: frozenset[str], dropped: str) -> bool:
    """The same migration creates a unique index or constraint on the same columns, or another one already
    covers them: ON CONFLICT on those columns keeps working."""
    if any(name != dropped and cols == columns for name, cols in ctx.model.unique_keys(table)):
        return True
    if any(t == table and cols == columns for t, cols in _indexes_created(ctx).values()):
        return True
    for later in ctx.statements:
        if later.kind == "AlterTableStmt" and ctx.rv(later.node.get("relation")) == table:
            for cmd in alter_commands(later, "AT_AddConstraint"):
                if _key_columns(ctx, table, unwrap(cmd.get("def"))[1]) == columns:
                    return True
        elif later.kind == "CreateStmt" and ctx.rv(later.node.get("relation")) == table:
            return True  # the table itself is re-created
    return False


@rule("SL213", "drop-unique-constraint", Severity.WARNING,
      "Dropping a PRIMARY KEY, UNIQUE constraint or unique index of an existing table, unless replaced.",
      kinds=["AlterTableStmt", "DropStmt"])
def drop_unique_constraint(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    dropped: list[tuple[QName, str, str, frozenset[str]]] = []  # (table, what, name, columns)
    if stmt.kind == "AlterTableStmt":
        table = ctx.rv(stmt.node.get("relation"))
        known = ctx.model.table(table)
        if ctx.is_new(table) or known is None:
            return
        for cmd in alter_commands(stmt, "AT_DropConstraint"):
            con = known.constraints.get(str(cmd.get("name", "")))
            if con is not None and con.kind in ("PRIMARY", "UNIQUE") and con.created_file != ctx.file:
                what = "PRIMARY KEY" if con.kind == "PRIMARY" else "UNIQUE constraint"
                dropped.append((table, what, con.name, frozenset(con.columns)))
    elif stmt.node.get("removeType") == "OBJECT_INDEX":
        for name in dropped_names(stmt.node, ctx.settings.default_schema):
            index = ctx.model.indexes.get(name)
            if index is None or not index.unique or index.partial or index.created_file == ctx.file \
                    or ctx.is_new(index.table) or None in index.columns:
                continue
            dropped.append((index.table, "unique index", name[1], frozenset(c for c in index.columns if c)))
    lost = [d for d in dropped if not _replaced(ctx, d[0], d[3], d[2])]
    if not lost:
        return
    described = "; ".join(f"the {what} {quote_ident(name)} on {ctx.name(table)} ({', '.join(sorted(cols))})"
                          for table, what, name, cols in lost)
    first_table, _, first_name, cols = lost[0]
    column_list = ", ".join(quote_ident(c) for c in sorted(cols))
    yield Hit(
        f"Dropping {described}: INSERT … ON CONFLICT ({column_list}) in the running application fails from the "
        f"moment this commits (no unique index matches), and duplicate rows become possible",
        f"Create the replacement first, then drop the old one in the same migration:\n"
        f"CREATE UNIQUE INDEX CONCURRENTLY {quote_ident(first_name + '_new')} ON {ctx.name(first_table)} "
        f"({column_list});\n"
        f"…then drop {quote_ident(first_name)}; or, if uniqueness is really no longer wanted, first remove every "
        f"ON CONFLICT ({column_list}) from the application and deploy.",
    )
