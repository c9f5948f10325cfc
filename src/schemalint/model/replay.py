"""The replay: how each statement changes the schema model, dispatched on the statement's node kind. Only the
engine calls it, after the rules have judged the statement; rules ask the model (schema.py), never this."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemalint.model import pg_names
from schemalint.model.objects import (
    Column,
    Constraint,
    Index,
    Policy,
    Sequence,
    Table,
)
from schemalint.model.replay_objects import (
    _alter_enum,
    _alter_function,
    _alter_sequence,
    _create_composite_type,
    _create_domain,
    _create_enum,
    _create_function,
    _create_range_type,
    _create_sequence,
    _define,
)
from schemalint.model.schema import SchemaModel
from schemalint.model.types import (
    ColumnType,
    collation_name,
    column_type,
    dropped_arguments,
)
from schemalint.sql.names import QName, qualify, strings
from schemalint.sql.nodes import Node, unwrap, walk
from schemalint.sql.objects import (
    created_object,
    dropped_names,
    dropped_objects,
    dropped_on_table,
    moved_object_kind,
    moved_object_name,
    nextval_sequence,
    not_null_check_column,
    query_reads,
    select_into,
)
from schemalint.sql.parse import Statement


def apply(model: SchemaModel, stmt: Statement, file: str, tx: int) -> None:
    """Take one statement into the model: the objects it creates, alters, renames or drops, and the long
    names it defines (PostgreSQL truncates them). ``tx`` is the file's transaction the statement runs in."""
    kind, node = stmt.kind, stmt.node
    if stmt.conditional and _keeps_both(model, kind, node):
        return
    handler = _REPLAY.get(kind)
    if handler is not None:
        handler(model, node, file, tx)
    created = created_object(kind, node, model.default_schema)
    if created is not None:
        model.objects_created.setdefault(created, file)
    elif kind == "DropStmt":
        for dropped in dropped_objects(node, model.default_schema):
            model.objects_created.pop(dropped, None)
    for _, name, _ in pg_names.long_defined_names(kind, node, lambda: stmt.text):
        model.long_names.setdefault(pg_names.truncate_identifier(name), (name, file))
    if kind == "CreateFunctionStmt":
        routine = model.function(strings(node.get("funcname")))
        if routine is not None and routine.body and routine.created_file == file:
            found = stmt.text.find(routine.body)
            routine.body_offset = stmt.start + found if found >= 0 else None


def _create_table(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    name = model.rv(node.get("relation"))
    if name in model.tables and node.get("if_not_exists"):
        return
    table = Table(name=name, created_file=file)
    if node.get("partspec"):
        table.kind = "partitioned"
        table.partition_key = tuple(unwrap(p)[1].get("name") for p in node["partspec"].get("partParams") or ())
    if node.get("partbound"):
        table.default_partition = bool(node["partbound"].get("is_default"))
        table.partition_bound = node["partbound"]
        parents = node.get("inhRelations") or []
        if parents:
            table.partition_of = model.rv(parents[0])
            parent = model.tables.get(table.partition_of)
            if parent:
                for col in parent.columns.values():
                    table.columns[col.name] = _inherited(col)
    elif node.get("inhRelations"):
        for parent_node in node["inhRelations"]:
            parent = model.tables.get(model.rv(parent_node))
            if parent:
                for col in parent.columns.values():
                    table.columns[col.name] = _inherited(col)
    model.tables[name] = table
    for element in node.get("tableElts") or ():
        kind, fields = unwrap(element)
        if kind == "ColumnDef":
            _add_column(model, table, fields, file, tx, validated=True)
        elif kind == "Constraint":
            _add_constraint(model, table, fields, file, tx, new_table=True)


def _keeps_both(model: SchemaModel, kind: str, node: Node) -> bool:
    """A statement that may not run (a PL/pgSQL branch): the model keeps both possibilities, so an object it
    drops stays known (it may still exist), and one it creates that is already known stays as it was (neither
    becomes "new" to later statements)."""
    if kind == "DropStmt":
        return True
    if kind == "CreateStmt":
        return model.rv(node.get("relation")) in model.tables
    if kind == "IndexStmt":
        return bool(node.get("idxname")) and (model.rv(node.get("relation"))[0], node["idxname"]) in model.indexes
    created = created_object(kind, node, model.default_schema)
    return created is not None and created in model.objects_created


def _inherited(col: Column) -> Column:
    """A parent's column as a partition or child table gets it."""
    return Column(col.name, col.type, col.not_null, col.has_default, collation=col.collation)


def _create_table_as(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    into = node.get("into") or {}
    name = model.rv(into.get("rel"))
    if name in model.tables and node.get("if_not_exists"):
        return
    kind = "matview" if node.get("objtype") == "OBJECT_MATVIEW" else "table"
    table = Table(name=name, created_file=file, kind=kind)
    for col in into.get("colNames") or ():
        colname = unwrap(col)[1].get("sval", "")
        table.columns[colname] = Column(colname, None)
    if kind == "matview":
        table.view_sources, table.view_columns = query_reads(node.get("query"), model.default_schema)
    model.tables[name] = table


def _create_view(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    name = model.rv(node.get("view"))
    existing = model.tables.get(name)
    if existing is None or existing.kind != "view":
        existing = model.tables[name] = Table(name=name, created_file=file, kind="view")
    existing.view_sources, existing.view_columns = query_reads(node.get("query"), model.default_schema)


def _add_column(model: SchemaModel, table: Table, col: Node, file: str, tx: int, validated: bool) -> None:
    name = col.get("colname", "")
    ctype = column_type(col.get("typeName"))
    column = Column(name, ctype.storage if ctype is not None else None, collation=collation_name(col.get("collClause")))
    if ctype is not None and ctype.is_serial:
        column.not_null = True
        column.has_default = True
        column.default_sequence = _owned_sequence(model, table, name, file)
    for item in col.get("constraints") or ():
        _, con = unwrap(item)
        contype = con.get("contype", "")
        if contype in ("CONSTR_NOTNULL",):
            column.not_null = True
        elif contype in ("CONSTR_DEFAULT", "CONSTR_IDENTITY", "CONSTR_GENERATED"):
            column.has_default = True
            if contype == "CONSTR_DEFAULT":
                column.default_sequence = nextval_sequence(model.default_schema, con.get("raw_expr"))
            if contype == "CONSTR_IDENTITY":
                column.not_null = True
                column.default_sequence = _owned_sequence(model, table, name, file)
        elif contype == "CONSTR_PRIMARY":
            column.not_null = True
            _add_constraint(model, table, {**con, "keys": [{"String": {"sval": name}}]}, file, tx, True)
        elif contype in ("CONSTR_UNIQUE", "CONSTR_CHECK", "CONSTR_FOREIGN", "CONSTR_EXCLUSION"):
            extra: Node = {"keys": [{"String": {"sval": name}}]}
            if contype == "CONSTR_FOREIGN":
                extra = {"fk_attrs": [{"String": {"sval": name}}]}
            _add_constraint(model, table, {**con, **extra}, file, tx, True)
    table.columns[name] = column


def _owned_sequence(model: SchemaModel, table: Table, column: str, file: str) -> QName:
    """serial and identity columns own a sequence named <table>_<column>_seq."""
    name = pg_names.owned_sequence_name(table.name, column)
    model.sequences[name] = Sequence(name, file, (table.name, column))
    return name


def _add_constraint(model: SchemaModel, table: Table, con: Node, file: str, tx: int, new_table: bool) -> Constraint | None:
    contype = con.get("contype", "")
    kind = {
        "CONSTR_PRIMARY": "PRIMARY",
        "CONSTR_UNIQUE": "UNIQUE",
        "CONSTR_CHECK": "CHECK",
        "CONSTR_FOREIGN": "FOREIGN",
        "CONSTR_EXCLUSION": "EXCLUSION",
    }.get(contype)
    if kind is None:
        if contype == "CONSTR_NOTNULL":
            for key in strings(con.get("keys")):
                if key in table.columns:
                    table.columns[key].not_null = True
        return None
    if kind == "FOREIGN":
        columns = tuple(strings(con.get("fk_attrs")))
    elif kind == "EXCLUSION":
        columns = tuple(
            unwrap(pair.get("List", {}).get("items", [None])[0])[1].get("name", "")
            for pair in con.get("exclusions") or ()
        )
    else:
        columns = tuple(strings(con.get("keys")))
    taken_over: Index | None = None
    if con.get("indexname") and kind in ("PRIMARY", "UNIQUE"):
        # ADD … USING INDEX: the index becomes the constraint's (PostgreSQL renames it to the constraint)
        taken_over = model.indexes.pop((table.name[0], str(con["indexname"])), None)
        if taken_over is not None:
            columns = tuple(c for c in taken_over.columns if c is not None)
    expr_columns: tuple[str, ...] = ()
    if kind == "CHECK":
        expr_columns = tuple(dict.fromkeys(
            str(unwrap(f["fields"][-1])[1].get("sval", "")) for k, f in walk(con.get("raw_expr"))
            if k == "ColumnRef" and f.get("fields")))
    # PostgreSQL names a CHECK that reads exactly one column after it (<table>_<column>_check)
    named_by = columns or (expr_columns if kind == "CHECK" and len(expr_columns) == 1 else ())
    name = con.get("conname") or pg_names.constraint_name(table.name[1], kind, named_by)
    constraint = Constraint(
        name=name,
        kind=kind,
        columns=columns,
        validated=not con.get("skip_validation", False),
        created_file=file,
        created_tx=tx,
    )
    if taken_over is not None:
        constraint.index = taken_over.name[1]
    if kind == "CHECK":
        constraint.not_null_column = not_null_check_column(con.get("raw_expr"))
        constraint.expr_columns = expr_columns
    if kind == "FOREIGN":
        constraint.ref_table = model.rv(con.get("pktable"))
        constraint.ref_columns = tuple(strings(con.get("pk_attrs")))
        if not constraint.ref_columns:
            ref = model.tables.get(constraint.ref_table)
            if ref:
                for c in ref.constraints.values():
                    if c.kind == "PRIMARY":
                        constraint.ref_columns = c.columns
    if kind == "PRIMARY":
        for col in columns:
            if col in table.columns:
                table.columns[col].not_null = True
    if constraint.validated:
        constraint.validated_tx = tx
    table.constraints[name] = constraint
    return constraint


def _alter_table(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    if node.get("objtype", "OBJECT_TABLE") not in ("OBJECT_TABLE", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE"):
        return
    name = model.rv(node.get("relation"))
    table = model.tables.get(name)
    if table is None:
        table = Table(name=name, created_file="")  # existed before the run
        model.tables[name] = table
    for item in node.get("cmds") or ():
        _, cmd = unwrap(item)
        _alter_table_command(model, table, cmd, file, tx)


def _alter_table_command(model: SchemaModel, table: Table, cmd: Node, file: str, tx: int) -> None:
    subtype = cmd.get("subtype", "")
    colname = cmd.get("name", "")
    definition = unwrap(cmd.get("def"))[1] if cmd.get("def") else {}
    if subtype == "AT_AddColumn":
        if definition.get("colname") in table.columns and cmd.get("missing_ok"):
            return
        _add_column(model, table, definition, file, tx, validated=True)
        table.columns[definition.get("colname", "")].created_file = file
    elif subtype == "AT_DropColumn":
        table.columns.pop(colname, None)
        for key in [k for k, c in table.constraints.items() if colname in c.columns]:
            del table.constraints[key]
        for ix_name in [k for k, ix in model.indexes.items() if ix.table == table.name and colname in ix.columns]:
            del model.indexes[ix_name]
    elif subtype == "AT_AlterColumnType":
        col = table.columns.get(colname)
        new_type = column_type(definition.get("typeName"))
        # without COLLATE the column takes the new type's default collation (PostgreSQL 15, ALTER TABLE docs)
        collation = collation_name(definition.get("collClause"))
        if col is None:
            table.columns[colname] = Column(colname, new_type, collation=collation)
        else:
            col.type, col.collation = new_type, collation
    elif subtype == "AT_AddConstraint":
        _add_constraint(model, table, definition, file, tx, new_table=False)
    elif subtype == "AT_ValidateConstraint":
        con = table.constraints.get(colname)
        if con is not None:
            con.validated = True
            con.validated_tx = tx
    elif subtype == "AT_DropConstraint":
        table.constraints.pop(colname, None)
    elif subtype == "AT_SetNotNull":
        if colname in table.columns:
            table.columns[colname].not_null = True
    elif subtype == "AT_DropNotNull":
        if colname in table.columns:
            table.columns[colname].not_null = False
    elif subtype == "AT_ColumnDefault":
        if colname in table.columns:
            default = cmd.get("def")
            is_null = unwrap(default)[0] == "A_Const" and unwrap(default)[1].get("isnull")
            table.columns[colname].has_default = bool(default) and not is_null
            table.columns[colname].default_sequence = nextval_sequence(model.default_schema, default)
    elif subtype == "AT_AttachPartition":
        child = model.rv(unwrap(cmd.get("def"))[1].get("name"))
        partition = model.tables.setdefault(child, Table(name=child, created_file=""))
        partition.partition_of = table.name
        bound = unwrap(cmd.get("def"))[1].get("bound") or {}
        partition.default_partition = bool(bound.get("is_default"))
        partition.partition_bound = bound or None
    elif subtype in ("AT_DetachPartition", "AT_DetachPartitionFinalize"):
        child = model.rv(unwrap(cmd.get("def"))[1].get("name"))
        if child in model.tables:
            model.tables[child].partition_of = None
            model.tables[child].default_partition = False
            model.tables[child].partition_bound = None
    elif subtype == "AT_EnableRowSecurity":
        table.rls_enabled = True
    elif subtype == "AT_DisableRowSecurity":
        table.rls_enabled = False
    elif subtype == "AT_ForceRowSecurity":
        table.rls_forced = True
    elif subtype == "AT_NoForceRowSecurity":
        table.rls_forced = False


def _rename(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    rtype = node.get("renameType", "")
    new = node.get("newname", "")
    if rtype in ("OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE"):
        old = model.rv(node.get("relation"))
        table = model.tables.pop(old, None) or Table(name=old, created_file="")
        table.name = (old[0], new)
        model.tables[table.name] = table
        for ix in model.indexes.values():
            if ix.table == old:
                ix.table = table.name
    elif rtype == "OBJECT_COLUMN":
        owner = model.tables.get(model.rv(node.get("relation")))
        old_col = node.get("subname", "")
        if owner and old_col in owner.columns:
            col = owner.columns.pop(old_col)
            col.name = new
            owner.columns[new] = col
            for con in owner.constraints.values():
                con.columns = tuple(new if c == old_col else c for c in con.columns)
            for ix in model.indexes.values():
                if ix.table == owner.name:
                    ix.columns = tuple(new if c == old_col else c for c in ix.columns)
    elif rtype == "OBJECT_TABCONSTRAINT":
        holder = model.tables.get(model.rv(node.get("relation")))
        old_con = node.get("subname", "")
        if holder and old_con in holder.constraints:
            con = holder.constraints.pop(old_con)
            con.name = new
            holder.constraints[new] = con
    elif rtype in ("OBJECT_TYPE", "OBJECT_DOMAIN"):
        # columns keep pointing at the renamed type (PostgreSQL stores its OID, not its name)
        old_parts = strings(unwrap(node.get("object"))[1].get("items"))
        old_type = qualify(old_parts, model.default_schema)
        for table in model.tables.values():
            for col in table.columns.values():
                if col.type is not None and qualify(col.type.name.split("."), model.default_schema) == old_type:
                    renamed = ".".join([*old_parts[:-1], new])
                    col.type = ColumnType(renamed, col.type.mods, col.type.array_dims)
    elif rtype == "OBJECT_INDEX":
        old_ix = model.rv(node.get("relation"))
        index = model.indexes.pop(old_ix, None)
        if index:
            index.name = (old_ix[0], new)
            model.indexes[index.name] = index


def _drop(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    rtype = node.get("removeType", "")
    schema = model.default_schema
    if rtype in ("OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE", "OBJECT_AGGREGATE"):
        for obj in node.get("objects") or ():
            kind, fields = unwrap(obj)
            if kind != "ObjectWithArgs":
                continue
            name = qualify(strings(fields.get("objname")), schema)
            args = dropped_arguments(fields)
            for key in [k for k in model.routine_files if k[0] == name and (args is None or k[1] == args)]:
                del model.routine_files[key]
    if rtype in ("OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE", "OBJECT_TYPE", "OBJECT_DOMAIN",
                 "OBJECT_SEQUENCE"):
        _drop_objects(model, node)
    elif rtype in ("OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE"):
        for name in dropped_names(node, schema):
            _drop_relation(model, name)
    elif rtype == "OBJECT_INDEX":
        for name in dropped_names(node, schema):
            model.indexes.pop(name, None)
    elif rtype == "OBJECT_POLICY":
        for table_name, policy in dropped_on_table(node, schema):
            table = model.tables.get(table_name)
            if table:
                table.policies.pop(policy, None)


def _drop_relation(model: SchemaModel, name: QName) -> None:
    """A table goes with its indexes, its partitions and the sequences its columns own."""
    model.tables.pop(name, None)
    model.dropped_tables.add(name)
    for key in [k for k, ix in model.indexes.items() if ix.table == name]:
        del model.indexes[key]
    for key in [k for k, seq in model.sequences.items() if seq.owned_by and seq.owned_by[0] == name]:
        del model.sequences[key]
    for partition in model.partitions_of(name):
        _drop_relation(model, partition.name)


def _drop_objects(model: SchemaModel, node: Node) -> None:
    """DROP FUNCTION / PROCEDURE / TYPE / DOMAIN / SEQUENCE."""
    for kind, name in dropped_objects(node, model.default_schema):
        if kind == "function" and not any(k[0] == name for k in model.routine_files):
            model.functions.pop(name, None)  # no overload of that name is left
        elif kind == "type":
            model.types.pop(name, None)
        elif kind == "sequence":
            model.sequences.pop(name, None)


def _create_index(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    table = model.rv(node.get("relation"))
    idxname = node.get("idxname")
    columns: list[str | None] = []
    for param in node.get("indexParams") or ():
        _, elem = unwrap(param)
        columns.append(elem.get("name"))
    if not idxname:
        named = [c if c is not None else pg_names.expression_name(unwrap(p)[1].get("expr"))
                 for c, p in zip(columns, node.get("indexParams") or (), strict=False)]
        idxname = pg_names.index_name(table, named)
    name = (table[0], idxname)
    if name in model.indexes and node.get("if_not_exists"):
        return
    model.indexes[name] = Index(name, table, tuple(columns), bool(node.get("unique")), file,
                               partial=node.get("whereClause") is not None)


def _set_schema(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    """ALTER … SET SCHEMA: the object keeps everything but its qualified name."""
    kind = moved_object_kind(node)
    old = moved_object_name(node, model.default_schema)
    if kind is None or old is None:
        return
    new = (str(node.get("newschema", "")), old[1])
    registries: dict[str, dict[Any, Any]] = {"relation": model.tables, "function": model.functions,
                                             "type": model.types, "sequence": model.sequences}
    registry = registries[kind]
    if old in registry:
        moved = registry.pop(old)
        moved.name = new
        registry[new] = moved
    if kind == "relation":
        for ix_name in [k for k, ix in model.indexes.items() if ix.table == old]:
            index = model.indexes.pop(ix_name)
            index.table, index.name = new, (new[0], ix_name[1])
            model.indexes[index.name] = index
    for created_kind in ("type", "sequence", "view", "function"):
        if (created_kind, old) in model.objects_created:
            model.objects_created[(created_kind, new)] = model.objects_created.pop((created_kind, old))


def _create_policy(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    table = model.tables.get(model.rv(node.get("table")))
    if table is None:
        return
    name = node.get("policy_name", "")
    table.policies[name] = Policy(name, node.get("cmd_name", "all"), node.get("qual"), node.get("with_check"))


def _select_into(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    as_table = select_into("SelectStmt", node)
    if as_table is not None:
        _create_table_as(model, as_table, file, tx)



_REPLAY: dict[str, Callable[[SchemaModel, Node, str, int], None]] = {
    "CreateStmt": _create_table,
    "CreateTableAsStmt": _create_table_as,
    "SelectStmt": _select_into,
    "ViewStmt": _create_view,
    "AlterTableStmt": _alter_table,
    "RenameStmt": _rename,
    "DropStmt": _drop,
    "IndexStmt": _create_index,
    "CreateFunctionStmt": _create_function,
    "DefineStmt": _define,
    "AlterFunctionStmt": _alter_function,
    "CreateEnumStmt": _create_enum,
    "CreateDomainStmt": _create_domain,
    "CompositeTypeStmt": _create_composite_type,
    "CreateRangeStmt": _create_range_type,
    "AlterEnumStmt": _alter_enum,
    "CreateSeqStmt": _create_sequence,
    "AlterSeqStmt": _alter_sequence,
    "AlterObjectSchemaStmt": _set_schema,
    "CreatePolicyStmt": _create_policy,
}
