"""Objects besides tables and columns that the running application uses: SL209 drop-object, SL210
drop-cascade, SL212 move-object-schema."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.context import Context
from schemalint.findings import Hit, Severity, listing
from schemalint.model import dependents
from schemalint.model.types import dropped_arguments, routine_identity
from schemalint.rules.alter import alter_commands
from schemalint.rules.base import rule
from schemalint.sql.names import QName, qualify, quote_ident, range_var, strings
from schemalint.sql.nodes import unwrap
from schemalint.sql.objects import created_name, dropped_names, moved_object_kind, moved_object_name
from schemalint.sql.parse import Statement

_DROPPED = {  # removeType → (label, the statements that create one again)
    "OBJECT_VIEW": ("view", ("ViewStmt",)),
    "OBJECT_MATVIEW": ("materialized view", ("CreateTableAsStmt",)),
    "OBJECT_FUNCTION": ("function", ("CreateFunctionStmt",)),
    "OBJECT_PROCEDURE": ("procedure", ("CreateFunctionStmt",)),
    "OBJECT_ROUTINE": ("routine", ("CreateFunctionStmt",)),
    "OBJECT_AGGREGATE": ("aggregate", ("DefineStmt",)),
    "OBJECT_TYPE": ("type", ("CreateEnumStmt", "CompositeTypeStmt", "CreateRangeStmt", "CreateDomainStmt")),
    "OBJECT_DOMAIN": ("domain", ("CreateDomainStmt", "CreateEnumStmt", "CompositeTypeStmt", "CreateRangeStmt")),
    "OBJECT_SEQUENCE": ("sequence", ("CreateSeqStmt",)),
}


def created_in_this_file(ctx: Context, kind: str, name: QName) -> bool:
    """Was the object created earlier in this file (so nobody can be using it yet)?"""
    model = ctx.model
    if kind in ("OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
        return ctx.is_new(name)
    if kind in ("OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE"):
        function = model.functions.get(name)
        return function is not None and function.created_file == ctx.file
    if kind in ("OBJECT_TYPE", "OBJECT_DOMAIN"):
        known = model.types.get(name)
        return known is not None and known.created_file == ctx.file
    if kind == "OBJECT_SEQUENCE":
        sequence = model.sequences.get(name)
        return sequence is not None and sequence.created_file == ctx.file
    if kind == "OBJECT_SCHEMA":
        return model.object_created_in("schema", name) == ctx.file
    return False


def _created(ctx: Context, stmt: Statement) -> QName | None:
    return created_name(stmt.kind, stmt.node, ctx.settings.default_schema)


def _recreated(ctx: Context, name: QName, creators: tuple[str, ...]) -> bool:
    """The same transaction creates an object of that name again (or renames one to it): one atomic swap."""
    for later in ctx.rest_of_transaction():
        if later.kind in creators and _created(ctx, later) == name:
            return True
        if later.kind == "RenameStmt" and later.node.get("newname") == name[1]:
            relation = later.node.get("relation")
            schema = range_var(relation, ctx.settings.default_schema)[0] if relation else name[0]
            if schema == name[0]:
                return True
    return False


@rule("SL209", "drop-object", Severity.ERROR,
      "DROP VIEW / MATERIALIZED VIEW / FUNCTION / PROCEDURE / ROUTINE / AGGREGATE / TYPE / DOMAIN / SEQUENCE of an "
      "existing object, "
      "unless the same transaction re-creates it.", kinds=["DropStmt"])
def drop_object(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    rtype = str(stmt.node.get("removeType", ""))
    if rtype not in _DROPPED:
        return
    label, creators = _DROPPED[rtype]
    if rtype in _ROUTINES:
        routines = [r for r in _dropped_routines(stmt, ctx)
                    if ctx.model.routine_created_in(*r) != ctx.file and not _routine_recreated(ctx, *r)]
        gone = [name for name, _ in routines]
        names = ", ".join(ctx.name(name) + (f"({', '.join(args)})" if args is not None else "")
                          for name, args in routines)
    else:
        gone = [n for n in dropped_names(stmt.node, ctx.settings.default_schema)
                if not created_in_this_file(ctx, rtype, n) and not _recreated(ctx, n, creators)]
        names = ", ".join(ctx.name(n) for n in gone)
    if not gone:
        return
    plural = label + ("s" if len(gone) > 1 else "")
    if rtype in ("OBJECT_VIEW", "OBJECT_FUNCTION", "OBJECT_PROCEDURE"):
        replace = {"OBJECT_VIEW": "CREATE OR REPLACE VIEW (same columns, new ones added at the end)",
                   "OBJECT_FUNCTION": "CREATE OR REPLACE FUNCTION (same arguments and result type)",
                   "OBJECT_PROCEDURE": "CREATE OR REPLACE PROCEDURE"}[rtype]
        how = (f"To change it, use {replace}, or drop and create it inside one BEGIN … COMMIT so no query ever "
               f"sees it missing. ")
    else:
        how = "To replace it, drop and create it inside one BEGIN … COMMIT so no query ever sees it missing. "
    recreated_later = not ctx.in_transaction and any(
        later.kind in creators and _created(ctx, later) in gone for later in ctx.later_statements())
    outside = (" (each statement here commits on its own, so re-creating it later in the file still leaves a "
               "window where it does not exist)" if recreated_later else "")
    yield Hit(
        f"DROP {label.upper()} {names}: every query, function and deployed version of the application that still "
        f"uses the {plural} fails from the moment this commits{outside}",
        how + "To retire it, stop using it in the application and deploy first, then drop it in a later migration "
        "(mark the reviewed drop with `-- schemalint: ignore drop-object`).",
    )


_ROUTINES = ("OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE", "OBJECT_AGGREGATE")


def _dropped_routines(stmt: Statement, ctx: Context) -> list[tuple[QName, tuple[str, ...] | None]]:
    """(name, argument types) of each routine a DROP FUNCTION/PROCEDURE/ROUTINE/AGGREGATE names; the types are
    None for ``DROP FUNCTION f`` (whichever one f is)."""
    out: list[tuple[QName, tuple[str, ...] | None]] = []
    for obj in stmt.node.get("objects") or ():
        kind, fields = unwrap(obj)
        if kind == "ObjectWithArgs":
            out.append((qualify(strings(fields.get("objname")), ctx.settings.default_schema),
                        dropped_arguments(fields)))
    return out


def _routine_recreated(ctx: Context, name: QName, args: tuple[str, ...] | None) -> bool:
    """The same transaction creates the routine again: the same name and argument types (dropping f(integer)
    while creating f(bigint) still breaks every caller of f(integer))."""
    for later in ctx.rest_of_transaction():
        made = routine_identity(later.kind, later.node, ctx.settings.default_schema)
        if made is not None and made[0] == name and (args is None or made[1] == args):
            return True
    return False


def _cascade_dependents(ctx: Context, stmt: Statement) -> list[tuple[str, list[str]]]:
    """(what is dropped, what CASCADE takes with it) for each existing object the statement drops CASCADE."""
    model = ctx.model
    out: list[tuple[str, list[str]]] = []
    if stmt.kind == "AlterTableStmt":
        table = ctx.existing_table(stmt)
        if table is None:
            return []
        for cmd in alter_commands(stmt, "AT_DropColumn", "AT_DropConstraint"):
            if cmd.get("behavior") != "DROP_CASCADE":
                continue
            name = str(cmd.get("name", ""))
            if cmd.get("subtype") == "AT_DropColumn":
                out.append((f"DROP COLUMN {ctx.name(table)}.{quote_ident(name)}",
                            dependents.of_column(model, table, name)))
            else:
                out.append((f"DROP CONSTRAINT {quote_ident(name)} on {ctx.name(table)}",
                            dependents.of_constraint(model, table, name)))
        return out
    if stmt.node.get("behavior") != "DROP_CASCADE":
        return []
    rtype = str(stmt.node.get("removeType", ""))
    label = rtype.removeprefix("OBJECT_").replace("MATVIEW", "MATERIALIZED VIEW").replace("_", " ")
    for dropped in dropped_names(stmt.node, ctx.settings.default_schema):
        if created_in_this_file(ctx, rtype, dropped):
            continue
        if rtype in ("OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE"):
            found = dependents.of_relation(model, dropped)
        elif rtype in ("OBJECT_TYPE", "OBJECT_DOMAIN"):
            found = dependents.of_type(model, dropped)
        elif rtype == "OBJECT_SEQUENCE":
            found = dependents.of_sequence(model, dropped)
        elif rtype == "OBJECT_SCHEMA":
            found = dependents.of_schema(model, dropped[1])
        else:
            found = []
        shown = quote_ident(dropped[1]) if rtype == "OBJECT_SCHEMA" else ctx.name(dropped)
        out.append((f"DROP {label} {shown}", found))
    return out


@rule("SL210", "drop-cascade", Severity.ERROR,
      "CASCADE on a drop of an existing object silently drops every object that depends on it.",
      kinds=["DropStmt", "AlterTableStmt"])
def drop_cascade(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    drops = _cascade_dependents(ctx, stmt)
    if not drops:
        return
    parts = [f"{what} CASCADE also drops {listing(found)}" for what, found in drops if found]
    unknown = [what for what, found in drops if not found]
    if unknown:
        shown = unknown[0] if len(unknown) == 1 else f"{unknown[0]} and {len(unknown) - 1} more"
        them = "it" if len(unknown) == 1 else "them"
        parts.append(f"{shown} CASCADE also drops whatever depends on {them} (none known from the migration "
                     "history)")
    yield Hit(
        "; ".join(parts) + ": PostgreSQL drops dependent objects silently, and the application loses them too",
        "Drop with RESTRICT (the default) so PostgreSQL refuses while something still depends on it, and drop or "
        "replace each dependent explicitly first, where a reviewer can see it.",
    )


_MOVED_LABELS = {"OBJECT_TABLE": "table", "OBJECT_VIEW": "view", "OBJECT_MATVIEW": "materialized view",
                 "OBJECT_FOREIGN_TABLE": "foreign table", "OBJECT_SEQUENCE": "sequence", "OBJECT_FUNCTION": "function",
                 "OBJECT_PROCEDURE": "procedure", "OBJECT_ROUTINE": "routine", "OBJECT_TYPE": "type",
                 "OBJECT_DOMAIN": "domain"}


@rule("SL212", "move-object-schema", Severity.ERROR,
      "ALTER … SET SCHEMA of an existing table, view, sequence, function or type breaks references to its old "
      "name.", kinds=["AlterObjectSchemaStmt"])
def move_object_schema(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    node = stmt.node
    otype = str(node.get("objectType", ""))
    name = moved_object_name(node, ctx.settings.default_schema)
    if moved_object_kind(node) is None or name is None or created_in_this_file(ctx, otype, name):
        return
    label = _MOVED_LABELS.get(otype, "object")
    schema = quote_ident(str(node.get("newschema", "")))
    old = ctx.name(name)
    moved = f"{schema}.{quote_ident(name[1])}"
    alias = {"table": f"CREATE VIEW {old} AS SELECT * FROM {moved};  -- simple views are updatable",
             "view": f"CREATE VIEW {old} AS SELECT * FROM {moved};",
             "materialized view": f"CREATE VIEW {old} AS SELECT * FROM {moved};"}.get(label)
    keep = (f"Keep the old name working in the same migration, and drop it once no code uses it:\n{alias}"
            if alias else f"Create the {label} in {schema} beside the old one, move every caller to {moved}, and "
            f"drop the old one in a later release.")
    yield Hit(
        f"ALTER {label.upper()} {old} SET SCHEMA {schema}: queries and functions that name {old} (or find it "
        f"through search_path) fail from the moment this commits",
        keep,
    )
