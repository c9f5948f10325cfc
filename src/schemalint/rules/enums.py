"""SL123 enum-value-used-in-same-transaction: PG12+ lets ALTER TYPE … ADD VALUE run in a transaction block,
but rejects any use of the new label before that transaction commits ("unsafe use of new value")."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.context import Context
from schemalint.findings import Hit, Severity
from schemalint.model.types import column_type
from schemalint.rules.base import rule
from schemalint.sql.names import QName, strings
from schemalint.sql.nodes import Node, const_value, unwrap, walk
from schemalint.sql.parse import Statement


def _type_of(ctx: Context, type_name: Node | None) -> QName | None:
    ctype = column_type(type_name)
    return ctx.model.qualify(ctype.name.split(".")) if ctype is not None else None


def _tables_named(ctx: Context, node: Node) -> list[QName]:
    """The statement's own table (INSERT/UPDATE/DELETE/ALTER TABLE: an unwrapped RangeVar) first, then the
    tables its FROM clauses read."""
    own = [ctx.rv(node["relation"])] if isinstance(node.get("relation"), dict) else []
    return own + [ctx.rv(fields) for kind, fields in walk(node) if kind == "RangeVar"]


def _column_types(ctx: Context, tables: list[QName], column: str) -> set[QName]:
    out = set()
    for table in tables:
        col = ctx.model.column(table, column)
        if col is not None and col.type is not None:
            out.add(ctx.model.qualify(col.type.name.split(".")))
    return out


def _column_name(node: object) -> str | None:
    kind, fields = unwrap(node)
    if kind != "ColumnRef":
        return None
    parts = strings(fields.get("fields"))
    return parts[-1] if parts else None


def _literals(node: object) -> list[str]:
    """The string constants of an expression side: 'v', or the items of ('v', 'w') / ARRAY['v']."""
    value = const_value(node)
    if isinstance(value, str) and unwrap(node)[0] == "A_Const":
        return [value]
    kind, fields = unwrap(node)
    items = fields.get("elements") if kind == "A_ArrayExpr" else fields.get("items") if kind == "List" else None
    if kind == "" and isinstance(node, list):
        items = node
    return [v for item in items or () for v in _literals(item)]


def uses_of_labels(ctx: Context, stmt: Statement, added: set[tuple[QName, str]]) -> list[tuple[QName, str]]:
    """The (type, label) pairs of ``added`` that ``stmt`` uses as a value."""
    node = stmt.node
    tables = _tables_named(ctx, node)
    found: list[tuple[QName, str]] = []

    def check(type_names: set[QName], labels: list[str]) -> None:
        for type_name in type_names:
            for label in labels:
                if (type_name, label) in added and (type_name, label) not in found:
                    found.append((type_name, label))

    for kind, fields in walk(node):
        if kind == "TypeCast":
            type_name = _type_of(ctx, fields.get("typeName"))
            if type_name is not None:
                check({type_name}, _literals(fields.get("arg")))
        elif kind == "A_Expr":
            for column_side, value_side in (("lexpr", "rexpr"), ("rexpr", "lexpr")):
                column = _column_name(fields.get(column_side))
                if column is not None:
                    check(_column_types(ctx, tables, column), _literals(fields.get(value_side)))
        elif kind == "ResTarget" and stmt.kind == "UpdateStmt" and fields.get("name"):
            check(_column_types(ctx, tables[:1], str(fields["name"])), _literals(fields.get("val")))
        elif kind == "ColumnDef":
            type_name = _type_of(ctx, fields.get("typeName"))
            for con in fields.get("constraints") or ():
                _, constraint = unwrap(con)
                if type_name is not None and constraint.get("contype") == "CONSTR_DEFAULT":
                    check({type_name}, _literals(constraint.get("raw_expr")))
    if stmt.kind == "InsertStmt":
        table = ctx.rv(node.get("relation"))
        columns = [str(unwrap(c)[1].get("name", "")) for c in node.get("cols") or ()]
        known = ctx.model.table(table)
        if not columns and known is not None:
            columns = list(known.columns)
        select = unwrap(node.get("selectStmt"))[1]
        for row in select.get("valuesLists") or ():
            values = unwrap(row)[1].get("items") or []
            for column, value in zip(columns, values, strict=False):
                check(_column_types(ctx, [table], column), _literals(value))
    if stmt.kind == "AlterTableStmt":
        table = ctx.rv(node.get("relation"))
        for item in node.get("cmds") or ():
            _, cmd = unwrap(item)
            if cmd.get("subtype") == "AT_ColumnDefault" and cmd.get("def") is not None:
                check(_column_types(ctx, [table], str(cmd.get("name", ""))), _literals(cmd.get("def")))
    return found


def _verb(stmt: Statement) -> str:
    words = stmt.text.split(None, 2)
    verb = " ".join(words[:2]) if words[:1] in (["ALTER"], ["alter"]) else " ".join(words[:1])
    return verb.upper() or "This statement"


@rule("SL123", "enum-value-used-in-same-transaction", Severity.ERROR,
      "A label added by ALTER TYPE … ADD VALUE is used later in the same transaction: PostgreSQL rejects it.")
def enum_value_used_in_same_transaction(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    if not ctx.in_transaction:
        return
    added = set(ctx.model.labels_added_in(ctx.file, ctx.transaction.serial))
    if not added or stmt.kind == "AlterEnumStmt":
        return
    used = uses_of_labels(ctx, stmt, added)
    if not used:
        return
    type_name, label = used[0]
    name = ctx.name(type_name)
    literal = "'" + label.replace("'", "''") + "'"
    where = ctx.runner_transaction_phrase() if ctx.runner_transaction and not ctx.transaction.explicit \
        else "in the same transaction"
    yield Hit(
        f"{_verb(stmt)} uses the enum value {literal} of {name}, added by ALTER TYPE {name} ADD VALUE {where}: "
        f"PostgreSQL rejects it with \"unsafe use of new value \"{label}\" of enum type {type_name[1]}\" until "
        f"the ALTER TYPE has committed",
        f"Commit the new value first: put ALTER TYPE {name} ADD VALUE {literal} in its own migration (or end the "
        "transaction after it), and use the value in a later one.",
    )
