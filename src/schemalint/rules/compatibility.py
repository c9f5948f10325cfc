"""SL2xx: changes that break the application that is running right now."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.context import Context
from schemalint.findings import Hit, Severity
from schemalint.model.types import ColumnType, collation_name, column_type
from schemalint.rules.alter import alter_commands
from schemalint.rules.base import rule
from schemalint.sql.names import QName, qualify, quote_ident, strings
from schemalint.sql.nodes import Node, unwrap
from schemalint.sql.objects import data_writes, dropped_names, select_into
from schemalint.sql.parse import Statement


@rule("SL201", "drop-column", Severity.ERROR,
      "DROP COLUMN on an existing table breaks the code that still reads or writes it.",
      kinds=["AlterTableStmt"])
def drop_column(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    table = ctx.existing_table(stmt)
    if table is None:
        return
    name = ctx.name(table)
    # one finding per statement, naming every existing column it drops
    dropped = [cmd for cmd in alter_commands(stmt, "AT_DropColumn")
               if not _column_is_new(ctx, table, str(cmd.get("name", "")))]
    if not dropped:
        return
    columns = [quote_ident(str(cmd.get("name", ""))) for cmd in dropped]
    listed = ", ".join(f"{name}.{c}" for c in columns)
    cascade = (" CASCADE also drops every view, index and constraint that uses them;"
               if any(cmd.get("behavior") == "DROP_CASCADE" for cmd in dropped) else "")
    them = "it" if len(columns) == 1 else "them"
    drops = ", ".join(f"DROP COLUMN {c}" for c in columns)
    yield Hit(
        f"DROP COLUMN {listed} breaks every query and every deployed version of the application that still "
        f"reads or writes {them};{cascade} the data is gone and a rollback cannot bring it back",
        "Contract in steps instead of in one release:\n"
        f"1. Stop reading and writing {', '.join(columns)} in the application, and deploy that.\n"
        f"2. In a later migration, once no deployed code uses {them}:\n"
        f"   SET lock_timeout = '5s';\n"
        f"   ALTER TABLE {name} {drops};  -- schemalint: ignore drop-column\n"
        "   (a brief ACCESS EXCLUSIVE lock; no rewrite, the space is reclaimed by later updates)",
    )


def _expand_contract(name: str, old: str, new_column: str, new_type: str, key: str = "<key>") -> str:
    return (
        "Expand and contract over several releases instead:\n"
        f"1. ALTER TABLE {name} ADD COLUMN {new_column} {new_type};\n"
        f"2. Write both columns from the application (or a trigger that copies {old} into {new_column}), and deploy.\n"
        f"3. Backfill in batches: UPDATE {name} SET {new_column} = {old} WHERE {key} IN "
        f"(SELECT {key} FROM {name} WHERE {new_column} IS NULL LIMIT 5000);\n"
        f"4. Switch reads to {new_column}, and deploy.\n"
        f"5. In a later migration, stop writing {old} and drop it."
    )


def _column_is_new(ctx: Context, table: QName, column: str) -> bool:
    col = ctx.model.column(table, column)
    return col is not None and col.created_file == ctx.file


@rule("SL202", "rename-column", Severity.ERROR,
      "RENAME COLUMN on an existing table breaks the code that still uses the old name.",
      kinds=["RenameStmt"])
def rename_column(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    node = stmt.node
    if node.get("renameType") != "OBJECT_COLUMN" or node.get("relationType", "OBJECT_TABLE") not in ("OBJECT_TABLE", "OBJECT_ACCESS_METHOD"):
        return
    table = ctx.rv(node.get("relation"))
    old = str(node.get("subname", ""))
    if ctx.is_new(table) or _column_is_new(ctx, table, old):
        return
    name = ctx.name(table)
    new = quote_ident(str(node.get("newname", "")))
    col = ctx.model.column(table, old)
    ctype = str(col.type) if col and col.type else "<same type>"
    yield Hit(
        f"RENAME COLUMN {name}.{quote_ident(old)} TO {new}: every query and deployed version of the application "
        f"that still uses {quote_ident(old)} fails the moment this commits",
        _expand_contract(name, quote_ident(old), new, ctype, ctx.batch_key(table)),
    )


@rule("SL203", "rename-table", Severity.ERROR,
      "ALTER TABLE … RENAME TO on an existing table, unless a compatibility view keeps the old name.",
      kinds=["RenameStmt"])
def rename_table(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    node = stmt.node
    if node.get("renameType") != "OBJECT_TABLE":
        return
    table = ctx.rv(node.get("relation"))
    if ctx.is_new(table):
        return
    for later in ctx.later_statements():
        if later.kind == "ViewStmt" and ctx.rv(later.node.get("view")) == table:
            return  # the guide's Pattern 3: a view keeps the old name working
    if any(_takes_the_name(later, table, ctx) for later in ctx.rest_of_transaction()):
        return  # a table swap: in the same transaction another table takes the old name, which never disappears
    new_name = (table[0], str(node.get("newname", "")))
    if any(_vacates(earlier, new_name, ctx) for earlier in ctx.statements[: ctx.index]):
        return  # the second half of a swap: the table moves into a name this file freed (the first half, out of a
        # transaction, is the one reported)
    name = ctx.name(table)
    new = quote_ident(str(node.get("newname", "")))
    new_q = f"{quote_ident(table[0])}.{new}" if table[0] != ctx.settings.default_schema else new
    yield Hit(
        f"ALTER TABLE {name} RENAME TO {new}: every query of the running application that names {name} fails the "
        f"moment this commits",
        f"Keep the old name working with a view in the same migration, and drop the view once no code uses it:\n"
        f"ALTER TABLE {name} RENAME TO {new};\n"
        f"CREATE VIEW {name} AS SELECT * FROM {new_q};  -- simple views are updatable",
    )


def _takes_the_name(later: Statement, table: QName, ctx: Context) -> bool:
    """Does ``later`` create a table named ``table``, or rename another table to it?"""
    if later.kind == "CreateStmt":
        return ctx.rv(later.node.get("relation")) == table
    as_table = later.node if later.kind == "CreateTableAsStmt" else select_into(later.kind, later.node)
    if as_table is not None and later.kind in ("CreateTableAsStmt", "SelectStmt"):
        return ctx.rv((as_table.get("into") or {}).get("rel")) == table
    if later.kind == "RenameStmt" and later.node.get("renameType") == "OBJECT_TABLE":
        return (ctx.rv(later.node.get("relation"))[0], str(later.node.get("newname", ""))) == table
    return False


def _vacates(earlier: Statement, name: QName, ctx: Context) -> bool:
    """Does ``earlier`` rename table ``name`` away (the first half of a swap)?"""
    return (earlier.kind == "RenameStmt" and earlier.node.get("renameType") == "OBJECT_TABLE"
            and ctx.rv(earlier.node.get("relation")) == name)


# Changes PostgreSQL makes without a rewrite and that widen what the column accepts.
_TIME_PRECISION = ("timestamp", "timestamptz", "time", "timetz")
_MAX_PRECISION = 6
_INTERVAL_FULL_RANGE = 32767


def _precision(mods: tuple[str, ...], index: int) -> int:
    return _int(mods[index]) if len(mods) > index else _MAX_PRECISION


def _no_rewrite_widening(old: ColumnType, new: ColumnType, utc: bool = False) -> bool:
    if old.array_dims != new.array_dims:
        return False
    if old.name == new.name and old.name in _TIME_PRECISION:
        # a higher (or no) fractional-seconds precision: PostgreSQL's support function skips the rewrite
        return _precision(new.mods, 0) >= _precision(old.mods, 0)
    if old.name == new.name == "interval":
        # interval(p), interval DAY …: no rewrite when the new type keeps every field and enough precision
        if not new.mods:
            return True
        return _int(new.mods[0]) == _INTERVAL_FULL_RANGE and _precision(new.mods, 1) >= _precision(old.mods, 1)
    if utc and old.name == "timestamp" and new.name == "timestamptz" and not old.mods and not new.mods:
        return True  # PG12+: timestamp → timestamptz is metadata-only while the session time zone is UTC
    if old.name == "varchar" and new.name == "text":
        return True
    if old.name == new.name and old.name in ("varchar", "varbit"):
        if not new.mods:
            return True  # varchar(n) → varchar: unbounded, binary compatible (like → text)
        return bool(old.mods) and _int(new.mods[0]) >= _int(old.mods[0])
    if old.name == new.name == "numeric":
        if not new.mods:
            return True
        if len(old.mods) >= 1 and len(new.mods) >= 1:
            old_scale = old.mods[1] if len(old.mods) > 1 else "0"
            new_scale = new.mods[1] if len(new.mods) > 1 else "0"
            return old_scale == new_scale and _int(new.mods[0]) >= _int(old.mods[0])
    return False


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return -1


@rule("SL204", "change-column-type", Severity.ERROR,
      "ALTER COLUMN … TYPE on an existing table rewrites it and can break the application or lose data.",
      kinds=["AlterTableStmt"])
def change_column_type(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    table = ctx.existing_table(stmt)
    if table is None:
        return
    name = ctx.name(table)
    for cmd in alter_commands(stmt, "AT_AlterColumnType"):
        column = str(cmd.get("name", ""))
        if _column_is_new(ctx, table, column):
            continue
        _, definition = unwrap(cmd.get("def"))
        new_type = column_type(definition.get("typeName"))
        known = ctx.model.column(table, column)
        old_type = known.type if known else None
        converts = not _only_casts(definition.get("raw_default"), column, table, new_type)
        col = quote_ident(column)
        new_text = str(new_type) if new_type else "the new type"
        new_collation = collation_name(definition.get("collClause"))
        if new_collation is not None:
            new_text += f" COLLATE {quote_ident(new_collation)}"
        batch = ctx.batch_key(table)
        if old_type is None or new_type is None:
            yield Hit(
                f"{name}.{col} (old type unknown: not created by a migration of this run) → {new_text}: may rewrite "
                f"the table and its indexes under an ACCESS EXCLUSIVE lock, blocking every read and write, and the "
                f"running application may read or write values the new type rejects or changes (it can lose data)",
                _expand_contract(name, col, quote_ident(f"{column}_new"), new_text, batch), subject=f"{name}.{col}")
            continue
        assert known is not None
        widening = old_type == new_type or _no_rewrite_widening(old_type, new_type,
                                                               ctx.timezone_utc and ctx.target_postgres >= 12)
        if not converts and widening:
            if known.collation == new_collation:
                continue  # the same type, or a widening PostgreSQL makes without a rewrite
            yield Hit(
                f"{name}.{col} collation {_collation_text(known.collation)} → {_collation_text(new_collation)}: "
                f"{_rebuilt_indexes(ctx, table, column)} under an ACCESS EXCLUSIVE lock on {name}, blocking every "
                f"read and write, and the order (and equality, for nondeterministic collations) of the values the "
                f"running application reads changes",
                _expand_contract(name, col, quote_ident(f"{column}_new"), new_text, batch), subject=f"{name}.{col}")
            continue
        using = " with a USING expression that converts the values" if converts else ""
        yield Hit(
            f"{name}.{col} {old_type} → {new_text}{using}: rewrites the table and its indexes under an ACCESS "
            f"EXCLUSIVE lock, blocking every read and write, and the running application may read or write values "
            f"the new type rejects or changes (it can lose data)",
            _expand_contract(name, col, quote_ident(f"{column}_new"), new_text, batch), subject=f"{name}.{col}")


def _only_casts(using: Node | None, column: str, table: QName, new_type: ColumnType | None) -> bool:
    """No USING, or a USING that only casts the column to the new type (``USING col::varchar(200)``, as Django
    writes it): PostgreSQL then makes the same change as without USING (checked on PostgreSQL 15: no rewrite,
    indexes kept, for a varchar widening)."""
    if using is None:
        return True
    kind, fields = unwrap(using)
    if kind == "TypeCast":
        if column_type(fields.get("typeName")) != new_type:
            return False
        kind, fields = unwrap(fields.get("arg"))
    if kind != "ColumnRef":
        return False
    names = strings(fields.get("fields"))
    return names == [column] or names == [table[1], column] or names == [table[0], table[1], column]


def _collation_text(collation: str | None) -> str:
    return quote_ident(collation) if collation is not None else "(the type's default)"


def _rebuilt_indexes(ctx: Context, table: QName, column: str) -> str:
    names = {quote_ident(n[1]) for n, ix in ctx.model.indexes.items() if ix.table == table and column in ix.columns}
    known = ctx.model.tables.get(table)
    if known is not None:  # a primary key's or unique constraint's index has the constraint's name
        names |= {quote_ident(c.name) for c in known.constraints.values()
                  if c.kind in ("PRIMARY", "UNIQUE", "EXCLUSION") and column in c.columns}
    if not names:
        return "every index on it is rebuilt"
    listed = ", ".join(sorted(names))
    return f"index {listed} is rebuilt" if len(names) == 1 else f"indexes {listed} are rebuilt"


@rule("SL205", "drop-table", Severity.ERROR,
      "DROP TABLE of an existing table, DROP SCHEMA or DROP DATABASE.",
      kinds=["DropStmt", "DropdbStmt"])
def drop_table(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    node = stmt.node
    if stmt.kind == "DropdbStmt":
        yield Hit(f"DROP DATABASE {quote_ident(str(node.get('dbname', '')))} destroys every table in it",
                  "Databases are not dropped by application migrations: do it by hand, after a backup.")
        return
    rtype = node.get("removeType", "")
    cascade = node.get("behavior") == "DROP_CASCADE"
    also = "; CASCADE also drops every view, foreign key and other object that depends on it" if cascade else ""
    if rtype == "OBJECT_SCHEMA":
        for obj in node.get("objects") or ():
            schema = unwrap(obj)[1].get("sval", "")
            if ctx.model.object_created_in("schema", ("", schema)) == ctx.file:
                continue
            yield Hit(f"DROP SCHEMA {quote_ident(schema)} removes the schema{' and everything in it' if cascade else ''}"
                      f"{also}: the running application's queries against it fail and the data is gone",
                      "Stop using the schema in the application first, take a backup, then drop it in a later "
                      "migration (mark the reviewed drop with `-- schemalint: ignore drop-table`).",
                      subject=quote_ident(schema))
        return
    if rtype not in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
        return
    for table in dropped_names(node, ctx.settings.default_schema):
        if ctx.is_new(table) or (node.get("missing_ok") and ctx.model.known_dropped(table)):
            continue  # new in this file, or IF EXISTS of a table the run already dropped: nothing is lost
        if node.get("missing_ok") and rtype == "OBJECT_TABLE" and ctx.model.complete and ctx.model.table(table) is None:
            continue  # neither in the baseline nor created since: IF EXISTS drops nothing
        name = ctx.name(table)
        yield Hit(
            f"DROP TABLE {name} deletes the table and its data{also}: every query of the running application that "
            f"uses it fails, and a rollback cannot bring the rows back",
            f"Contract in steps: stop reading and writing {name} in the application and deploy; optionally rename it "
            f"to {quote_ident(table[1] + '_deprecated')} for a release to catch stragglers; then drop it in a later "
            f"migration, after a backup (mark the reviewed drop with `-- schemalint: ignore drop-table`).",
            subject=name,
        )


@rule("SL206", "drop-not-null", Severity.WARNING,
      "ALTER COLUMN … DROP NOT NULL on an existing table: readers may assume the column is never NULL.",
      kinds=["AlterTableStmt"])
def drop_not_null(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    table = ctx.existing_table(stmt)
    if table is None:
        return
    name = ctx.name(table)
    for cmd in alter_commands(stmt, "AT_DropNotNull"):
        column = str(cmd.get("name", ""))
        if _column_is_new(ctx, table, column):
            continue
        col = quote_ident(column)
        yield Hit(
            f"DROP NOT NULL on {name}.{col}: code that assumes {col} is never NULL (non-nullable fields in the "
            f"application, NOT IN queries, aggregates) breaks once a NULL is written",
            f"First make every reader handle NULL in {col}, and deploy; then drop the constraint.",
            subject=f"{name}.{col}",
        )


_RENAMED_OBJECTS = {
    "OBJECT_SCHEMA": "schema", "OBJECT_TYPE": "type", "OBJECT_DOMAIN": "type", "OBJECT_VIEW": "view",
    "OBJECT_MATVIEW": "view", "OBJECT_SEQUENCE": "sequence", "OBJECT_FUNCTION": "function",
    "OBJECT_PROCEDURE": "function",
}


def _renamed_name(node: Node, ctx: Context) -> QName:
    rtype = node.get("renameType", "")
    if rtype == "OBJECT_SCHEMA":
        return ("", str(node.get("subname", "")))
    if node.get("relation"):
        return ctx.rv(node.get("relation"))
    kind, obj = unwrap(node.get("object"))
    if kind == "ObjectWithArgs":
        return qualify(strings(obj.get("objname")), ctx.settings.default_schema)
    if kind == "List":
        return qualify(strings(obj.get("items")), ctx.settings.default_schema)
    return ("", "")


@rule("SL207", "rename-object", Severity.ERROR,
      "Renaming an existing schema, type, enum value, view, materialized view, sequence or function.",
      kinds=["RenameStmt", "AlterEnumStmt"])
def rename_object(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    node = stmt.node
    if stmt.kind == "AlterEnumStmt":
        if node.get("oldVal") is None:
            return
        type_name = qualify(strings(node.get("typeName")), ctx.settings.default_schema)
        if ctx.model.object_created_in("type", type_name) == ctx.file:
            return
        yield Hit(
            f"RENAME VALUE '{node.get('oldVal')}' TO '{node.get('newVal')}' of enum {ctx.name(type_name)}: the running "
            f"application still writes '{node.get('oldVal')}', which now fails",
            f"Add the new value (ALTER TYPE {ctx.name(type_name)} ADD VALUE '{node.get('newVal')}'), migrate the "
            f"application and the rows to it, and stop using the old value; enum values cannot be dropped cheaply.",
        )
        return
    rtype = str(node.get("renameType", ""))
    if rtype == "OBJECT_TABCONSTRAINT":
        yield from _renamed_constraint(node, ctx)
        return
    kind = _RENAMED_OBJECTS.get(rtype)
    if kind is None:
        return
    name = _renamed_name(node, ctx)
    if ctx.model.object_created_in(kind, name) == ctx.file or (kind == "view" and ctx.is_new(name)):
        return
    label = rtype.removeprefix("OBJECT_").lower().replace("matview", "materialized view")
    old = quote_ident(name[1]) if kind == "schema" else ctx.name(name)
    new = quote_ident(str(node.get("newname", "")))
    yield Hit(
        f"Renaming {label} {old} to {new}: everything that still refers to {old} (the running application, "
        f"functions, other migrations' assumptions) fails the moment this commits",
        f"Create the new {label} beside the old one (or keep a compatibility alias such as a view or a wrapper "
        f"function named {old}), move the callers, and drop the old name in a later release.",
    )


def _renamed_constraint(node: Node, ctx: Context) -> Iterator[Hit]:
    """ALTER TABLE … RENAME CONSTRAINT of a constraint that existed before this file (renaming an index is not
    flagged: nothing in an application names one)."""
    table = ctx.rv(node.get("relation"))
    if ctx.is_new(table):
        return
    old = str(node.get("subname", ""))
    known = ctx.model.table(table)
    con = known.constraints.get(old) if known is not None else None
    if con is not None and con.created_file == ctx.file:
        return
    # only a primary key, unique or exclusion constraint can be named by ON CONFLICT ON CONSTRAINT; one the
    # history does not show is judged by the suffix PostgreSQL gives foreign keys and checks
    if con is not None and con.kind not in ("PRIMARY", "UNIQUE", "EXCLUSION"):
        return
    if con is None and old.endswith(("_fkey", "_check")):
        return
    name, new = ctx.name(table), quote_ident(str(node.get("newname", "")))
    yield Hit(
        f"Renaming constraint {quote_ident(old)} of {name} to {new}: the running application's INSERT … ON CONFLICT "
        f"ON CONSTRAINT {quote_ident(old)} (and code that matches constraint names in errors) fails the moment this "
        f"commits",
        "Move the application to ON CONFLICT (columns…) or to the new name first and deploy, then rename; or keep "
        "the old name.",
        subject=f"{name}.{quote_ident(old)}",
    )


@rule("SL208", "truncate-or-delete-all", Severity.ERROR,
      "TRUNCATE, or DELETE with no WHERE, on an existing table.",
      kinds=["TruncateStmt", "DeleteStmt", "UpdateStmt", "InsertStmt", "SelectStmt", "MergeStmt"])
def truncate_or_delete_all(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    node = stmt.node
    if stmt.kind != "TruncateStmt":
        for kind, write, location in data_writes(stmt.kind, node):  # the statement and the DML in its WITH
            if kind != "DeleteStmt" or write.get("whereClause") is not None or write.get("whereCurrentOf"):
                continue
            table = ctx.rv(write.get("relation"))
            if ctx.is_new(table):
                continue
            inside = " (in a WITH clause)" if location is not None else ""
            yield Hit(f"DELETE FROM {ctx.name(table)} without WHERE{inside} deletes every row of an existing table",
                      "If the data must go, say which rows with a WHERE clause, delete in batches, and take a backup "
                      "first.", ctx.statement.offset_of(location) if location is not None else None,
                      subject=ctx.name(table))
        return
    cascade = node.get("behavior") == "DROP_CASCADE"
    for rel in node.get("relations") or ():
        table = ctx.rv(rel)
        if ctx.is_new(table):
            continue
        name = ctx.name(table)
        also = "; CASCADE also empties every table with a foreign key to it" if cascade else ""
        yield Hit(
            f"TRUNCATE {name} deletes every row of an existing table under an ACCESS EXCLUSIVE lock{also}; it cannot "
            f"be undone once committed",
            "Application migrations should not destroy data: if it must go, delete the rows you mean with a WHERE "
            "clause, in batches, after a backup.",
            subject=name,
        )


def _default_restored(ctx: Context, stmt: Statement, table: QName, column: str) -> bool:
    """A new default for the column later in the same statement or transaction (the usual DROP DEFAULT, ALTER
    TYPE, SET DEFAULT sequence of a type change): no insert ever sees the column without one."""
    def sets_default(later: Statement, after: int) -> bool:
        if later.kind != "AlterTableStmt" or ctx.rv(later.node.get("relation")) != table:
            return False
        commands = list(alter_commands(later))
        return any(c.get("subtype") == "AT_ColumnDefault" and c.get("name") == column and c.get("def") is not None
                   and not unwrap(c.get("def"))[1].get("isnull") for c in commands[after:])
    own = list(alter_commands(stmt))
    dropped_at = next(i for i, c in enumerate(own) if c.get("subtype") == "AT_ColumnDefault" and c.get("name") == column)
    return sets_default(stmt, dropped_at + 1) or any(sets_default(s, 0) for s in ctx.rest_of_transaction())


@rule("SL211", "drop-default-on-not-null", Severity.ERROR,
      "DROP DEFAULT on a NOT NULL column with a default: inserts that omit the column start failing.",
      kinds=["AlterTableStmt"])
def drop_default_on_not_null(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    table = ctx.existing_table(stmt)
    if table is None:
        return
    lost = []
    for cmd in alter_commands(stmt, "AT_ColumnDefault"):
        default = cmd.get("def")
        kind, fields = unwrap(default)
        if default is not None and not (kind == "A_Const" and fields.get("isnull")):
            continue  # SET DEFAULT <value>
        column = str(cmd.get("name", ""))
        col = ctx.model.column(table, column)
        if col is None or not col.not_null or not col.has_default or _column_is_new(ctx, table, column):
            continue
        if _default_restored(ctx, stmt, table, column):
            continue
        lost.append(quote_ident(column))
    if not lost:
        return
    name = ctx.name(table)
    listed = ", ".join(f"{name}.{c}" for c in lost)
    yield Hit(
        f"DROP DEFAULT on {listed}, which is NOT NULL: every INSERT of the running application that omits "
        f"{', '.join(lost)} now fails with a not-null violation",
        f"First make every writer set {', '.join(lost)} explicitly, and deploy; then drop the default "
        "(or keep it).",
    )
