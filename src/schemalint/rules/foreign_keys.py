"""Foreign keys' design: SL406 (no index on the referencing columns), SL410 (type mismatch).
(SL105, adding a foreign key without NOT VALID, lives with the other constraint locks in constraints.py.)"""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.context import Context, FileContext
from schemalint.findings import Hit, Severity
from schemalint.model.types import ColumnType, column_type
from schemalint.rules.alter import added_columns, alter_commands, declared_constraints
from schemalint.rules.base import file_rule, rule
from schemalint.rules.tables import create_columns, table_constraints
from schemalint.sql.names import QName, quote_ident, strings
from schemalint.sql.nodes import Node, unwrap
from schemalint.sql.parse import Statement


@file_rule("SL406", "foreign-key-without-index", Severity.WARNING,
           "A foreign key whose columns are not the leading columns of any index.")
def foreign_key_without_index(ctx: FileContext) -> Iterator[Hit]:
    for stmt in ctx.statements:
        fks = declared_constraints(stmt, "CONSTR_FOREIGN")
        if not fks:
            continue
        table = ctx.rv(stmt.node.get("relation"))
        known = ctx.model.table(table)
        if known is None:
            continue
        lists = ctx.model.indexed_column_lists(table)
        for columns, con in fks:
            if not columns or any(tuple(cols[: len(columns)]) == columns for cols in lists):
                continue
            name = ctx.name(table)
            cols = ", ".join(quote_ident(c) for c in columns)
            idx = quote_ident(f"idx_{table[1]}_{'_'.join(columns)}"[:63])
            yield Hit(
                f"Foreign key ({cols}) on {name} has no index starting with those columns: every DELETE or key "
                f"UPDATE on the referenced table scans {name}, and joins on the key are slow",
                f"CREATE INDEX CONCURRENTLY {idx} ON {name} ({cols});",
                stmt.offset_of(con.get("location")), subject=f"({cols})",
            )


_SAME_FAMILY = {"varchar": "text", "text": "text"}


def _comparable(ctype: ColumnType) -> tuple[str, int]:
    # varchar and text share text's btree operator class: the key's index is used either way
    return _SAME_FAMILY.get(ctype.name, ctype.name), ctype.array_dims


def _foreign_keys(stmt: Statement, ctx: Context) -> Iterator[tuple[QName, list[tuple[str, ColumnType | None]], Node]]:
    """(table, [(column, type)], constraint) for every foreign key the statement adds."""
    table = ctx.rv(stmt.node.get("relation"))
    if stmt.kind == "CreateStmt":
        types = {c.name: c.type for c in create_columns(stmt)}
    else:
        known = ctx.model.table(table)
        types = {c.name: c.type for c in known.columns.values()} if known else {}
        types.update((c.name, c.type) for c in added_columns(stmt))
        # ALTER TABLE runs its type changes in an earlier pass than ADD CONSTRAINT: the key sees the new type
        for cmd in alter_commands(stmt, "AT_AlterColumnType"):
            new_type = column_type(unwrap(cmd.get("def"))[1].get("typeName"))
            if new_type is not None:
                types[str(cmd.get("name", ""))] = new_type
    for columns, con in declared_constraints(stmt, "CONSTR_FOREIGN"):
        yield table, [(c, types.get(c)) for c in columns], con


@rule("SL410", "foreign-key-type-mismatch", Severity.WARNING,
      "A foreign key column whose type differs from the referenced column's type (e.g. integer → bigint).",
      kinds=["CreateStmt", "AlterTableStmt"])
def foreign_key_type_mismatch(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    if not declared_constraints(stmt, "CONSTR_FOREIGN"):
        return
    own_types = {c.name: c.type for c in create_columns(stmt)} if stmt.kind == "CreateStmt" else {}
    this_table = ctx.rv(stmt.node.get("relation"))
    for table, columns, con in _foreign_keys(stmt, ctx):
        ref = ctx.rv(con.get("pktable"))
        ref_cols = strings(con.get("pk_attrs"))
        ref_table = ctx.model.table(ref)
        if not ref_cols:
            if ref == this_table and stmt.kind == "CreateStmt":
                ref_cols = [c for k in table_constraints(stmt) if k.get("contype") == "CONSTR_PRIMARY"
                            for c in strings(k.get("keys"))]
            elif ref_table is not None:
                ref_cols = next((list(c.columns) for c in ref_table.constraints.values() if c.kind == "PRIMARY"), [])
        for (column, ctype), ref_col in zip(columns, ref_cols, strict=False):
            if ref == this_table and stmt.kind == "CreateStmt":
                ref_type = own_types.get(ref_col)
            else:
                known = ref_table.columns.get(ref_col) if ref_table else None
                ref_type = known.type if known else None
            if ctype is None or ref_type is None:
                continue
            ctype, ref_type = ctype.storage, ref_type.storage
            if _comparable(ctype) == _comparable(ref_type):
                continue
            yield Hit(
                f"Foreign key {ctx.name(table)}.{quote_ident(column)} is {ctype} but references "
                f"{ctx.name(ref)}.{quote_ident(ref_col)}, which is {ref_type}: joins need casts, and the key runs out "
                f"of range (or stops matching) before the referenced column does",
                f"Declare {quote_ident(column)} as {ref_type}, the referenced column's type.",
                ctx.statement.offset_of(con.get("location")), subject=f"{ctx.name(table)}.{quote_ident(column)}",
            )
