"""The schema model: what earlier statements of the run created, altered, renamed or dropped.

Rules read it (is this table new? what was this column's type?); only the engine writes it, by
calling :meth:`SchemaModel.apply` after the rules have judged a statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from schemalint.model.types import ColumnType, column_type
from schemalint.sql.names import DEFAULT_SCHEMA, QName, qualify, range_var, strings
from schemalint.sql.nodes import Node, const_value, unwrap, walk
from schemalint.sql.plpgsql import called_routines

VOLATILITIES = ("immutable", "stable", "volatile")


@dataclass(slots=True)
class Column:
    name: str
    type: ColumnType | None
    not_null: bool = False
    has_default: bool = False
    created_file: str = ""  # "" when it existed before the run or came with its table
    default_sequence: QName | None = None  # serial, identity or DEFAULT nextval('seq')


@dataclass(slots=True)
class Constraint:
    name: str
    kind: str  # PRIMARY, UNIQUE, CHECK, FOREIGN, EXCLUSION
    columns: tuple[str, ...] = ()
    validated: bool = True
    not_null_column: str | None = None  # set for CHECK (col IS NOT NULL)
    ref_table: QName | None = None
    ref_columns: tuple[str, ...] = ()
    created_file: str = ""
    created_tx: int = -1
    validated_tx: int = -1
    expr_columns: tuple[str, ...] = ()  # CHECK: the columns its expression reads
    index: str | None = None  # PRIMARY/UNIQUE ... USING INDEX: the index it took over


@dataclass(slots=True)
class Index:
    name: QName
    table: QName
    columns: tuple[str | None, ...]  # None for an expression
    unique: bool = False
    created_file: str = ""
    partial: bool = False  # has a WHERE clause: not a replacement for a full unique constraint


@dataclass(slots=True)
class Policy:
    name: str
    command: str  # all, select, insert, update, delete
    using: Node | None
    with_check: Node | None


@dataclass(slots=True)
class Table:
    name: QName
    columns: dict[str, Column] = field(default_factory=dict)
    constraints: dict[str, Constraint] = field(default_factory=dict)
    created_file: str = ""
    kind: str = "table"  # table, partitioned, view, matview, foreign
    partition_of: QName | None = None
    partition_key: tuple[str | None, ...] = ()  # partitioned: key columns (None for an expression)
    default_partition: bool = False  # PARTITION OF … DEFAULT
    partition_bound: Node | None = None  # its FOR VALUES … (a PartitionBoundSpec)
    view_sources: tuple[QName, ...] = ()  # view / matview: the relations its query reads
    view_columns: frozenset[str] = frozenset()  # …and the column names it names ("*" for a star)
    rls_enabled: bool = False
    rls_forced: bool = False
    policies: dict[str, Policy] = field(default_factory=dict)

    def indexed_column_lists(self, model: SchemaModel) -> list[tuple[str | None, ...]]:
        lists: list[tuple[str | None, ...]] = [
            tuple(c.columns) for c in self.constraints.values() if c.kind in ("PRIMARY", "UNIQUE", "EXCLUSION")
        ]
        lists.extend(ix.columns for ix in model.indexes.values() if ix.table == self.name)
        return lists


@dataclass(slots=True)
class Function:
    name: QName
    volatility: str  # immutable, stable, volatile
    language: str
    body: str | None
    created_file: str
    body_offset: int | None = None  # file character offset of the body text, when known
    kind: str = "function"  # or procedure
    arg_types: tuple[str, ...] = ()
    security_definer: bool = False
    config: dict[str, str] = field(default_factory=dict)  # SET clauses: search_path → its value


@dataclass(slots=True)
class UserType:
    name: QName
    kind: str  # enum, domain, composite, range
    created_file: str
    labels: list[str] = field(default_factory=list)  # enum labels in order
    base: str | None = None  # domain: the type it is based on


@dataclass(slots=True)
class Sequence:
    name: QName
    created_file: str
    owned_by: tuple[QName, str] | None = None  # the column it belongs to (serial, identity, OWNED BY)


@dataclass(slots=True)
class SchemaModel:
    default_schema: str = DEFAULT_SCHEMA
    tables: dict[QName, Table] = field(default_factory=dict)
    indexes: dict[QName, Index] = field(default_factory=dict)
    functions: dict[QName, Function] = field(default_factory=dict)
    types: dict[QName, UserType] = field(default_factory=dict)
    sequences: dict[QName, Sequence] = field(default_factory=dict)
    enum_labels_added: dict[tuple[str, int], list[tuple[QName, str]]] = field(default_factory=dict)  # (file, tx)
    objects_created: dict[tuple[str, QName], str] = field(default_factory=dict)  # (kind, name) → file
    long_names: dict[str, tuple[str, str]] = field(default_factory=dict)  # truncated → (full name, file)
    _function_files: set[str] = field(default_factory=set)

    # --- questions rules ask -------------------------------------------------------------
    def table(self, name: QName) -> Table | None:
        return self.tables.get(name)

    def is_new_table(self, name: QName, file: str) -> bool:
        """Created earlier in this same file: nobody can be using it yet."""
        table = self.tables.get(name)
        return table is not None and table.created_file == file

    def column(self, table: QName, column: str) -> Column | None:
        t = self.tables.get(table)
        return t.columns.get(column) if t else None

    def function(self, parts: list[str]) -> Function | None:
        if len(parts) >= 2:
            return self.functions.get((parts[-2], parts[-1]))
        return self.functions.get((self.default_schema, parts[0])) if parts else None

    def routines_called(self, kind: str, node: Node, file: str) -> Iterator[tuple[list[str], Function]]:
        """Functions and procedures created earlier in ``file`` that this SELECT or CALL runs."""
        if kind not in ("SelectStmt", "CallStmt") or file not in self._function_files:
            return
        for parts in called_routines(kind, node):
            routine = self.function(parts)
            if routine is not None and routine.body and routine.created_file == file:
                yield parts, routine

    def foreign_key_target(self, table: QName, constraint: str) -> QName | None:
        """The table a known foreign key of ``table`` references."""
        known = self.tables.get(table)
        con = known.constraints.get(constraint) if known is not None else None
        return con.ref_table if con is not None and con.kind == "FOREIGN" else None

    def index_table(self, index: QName) -> QName | None:
        ix = self.indexes.get(index)
        return ix.table if ix else None

    def rv(self, node: Any) -> QName:
        return range_var(node, self.default_schema)

    def qualify(self, parts: list[str]) -> QName:
        return qualify(parts, self.default_schema)

    def views_reading(self, relation: QName) -> list[Table]:
        """Views and materialized views whose query reads ``relation``."""
        return [t for t in self.tables.values() if t.kind in ("view", "matview") and relation in t.view_sources]

    def partitions_of(self, parent: QName) -> list[Table]:
        return [t for t in self.tables.values() if t.partition_of == parent]

    def default_partition_of(self, parent: QName) -> Table | None:
        return next((t for t in self.partitions_of(parent) if t.default_partition), None)

    def default_partition_name(self, parent: QName) -> QName | None:
        default = self.default_partition_of(parent)
        return default.name if default is not None else None

    def user_type(self, name: QName) -> UserType | None:
        return self.types.get(name)

    def labels_added_in(self, file: str, tx: int) -> list[tuple[QName, str]]:
        """Enum labels ``ALTER TYPE … ADD VALUE`` added in this file's transaction ``tx``."""
        return self.enum_labels_added.get((file, tx), [])

    def columns_of_type(self, type_name: QName) -> list[tuple[Table, Column]]:
        out = []
        for table in self.tables.values():
            for col in table.columns.values():
                if col.type is not None and self.qualify(col.type.name.split(".")) == type_name:
                    out.append((table, col))
        return out

    def unique_keys(self, table: QName) -> list[tuple[str, frozenset[str]]]:
        """The PRIMARY KEY / UNIQUE constraints and full unique indexes of a table: (name, columns)."""
        known = self.tables.get(table)
        keys = [(c.name, frozenset(c.columns)) for c in known.constraints.values()
                if c.kind in ("PRIMARY", "UNIQUE")] if known is not None else []
        keys.extend((ix.name[1], frozenset(c for c in ix.columns if c is not None)) for ix in self.indexes.values()
                    if ix.table == table and ix.unique and not ix.partial and None not in ix.columns)
        return keys

    # --- applying statements -------------------------------------------------------------
    def object_created_in(self, kind: str, name: QName) -> str | None:
        """The file that created a schema, type, sequence, view or function, if the run did."""
        return self.objects_created.get((kind, name))

    def apply(self, kind: str, node: Node, file: str, tx: int, location: int = 0) -> None:
        handler = getattr(self, f"_apply_{kind}", None)
        if handler is not None:
            handler(node, file, tx, location)
        created = _created_object(kind, node, self.default_schema)
        if created is not None:
            self.objects_created.setdefault(created, file)
        elif kind == "DropStmt":
            for dropped in _dropped_objects(node, self.default_schema):
                self.objects_created.pop(dropped, None)

    def _apply_CreateStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        name = self.rv(node.get("relation"))
        if name in self.tables and node.get("if_not_exists"):
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
                table.partition_of = self.rv(parents[0])
                parent = self.tables.get(table.partition_of)
                if parent:
                    for col in parent.columns.values():
                        table.columns[col.name] = Column(col.name, col.type, col.not_null, col.has_default)
        elif node.get("inhRelations"):
            for parent_node in node["inhRelations"]:
                parent = self.tables.get(self.rv(parent_node))
                if parent:
                    for col in parent.columns.values():
                        table.columns[col.name] = Column(col.name, col.type, col.not_null, col.has_default)
        self.tables[name] = table
        for element in node.get("tableElts") or ():
            kind, fields = unwrap(element)
            if kind == "ColumnDef":
                self._add_column(table, fields, file, tx, validated=True)
            elif kind == "Constraint":
                self._add_constraint(table, fields, file, tx, new_table=True)

    def _apply_CreateTableAsStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        into = node.get("into") or {}
        name = self.rv(into.get("rel"))
        if name in self.tables and node.get("if_not_exists"):
            return
        kind = "matview" if node.get("objtype") == "OBJECT_MATVIEW" else "table"
        table = Table(name=name, created_file=file, kind=kind)
        for col in into.get("colNames") or ():
            colname = unwrap(col)[1].get("sval", "")
            table.columns[colname] = Column(colname, None)
        if kind == "matview":
            table.view_sources, table.view_columns = self._query_reads(node.get("query"))
        self.tables[name] = table

    def _apply_ViewStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        name = self.rv(node.get("view"))
        existing = self.tables.get(name)
        if existing is None or existing.kind != "view":
            existing = self.tables[name] = Table(name=name, created_file=file, kind="view")
        existing.view_sources, existing.view_columns = self._query_reads(node.get("query"))

    def _query_reads(self, query: Any) -> tuple[tuple[QName, ...], frozenset[str]]:
        """The relations a view's query reads (not its CTEs) and the column names it uses."""
        nodes = list(walk(query))
        ctes = {str(fields.get("ctename", "")) for kind, fields in nodes if kind == "CommonTableExpr"}
        relations: list[QName] = []
        columns: set[str] = set()
        for kind, fields in nodes:
            if kind == "RangeVar":
                if fields.get("schemaname") is None and fields.get("relname") in ctes:
                    continue
                relation = self.rv(fields)
                if relation not in relations:
                    relations.append(relation)
            elif kind == "ColumnRef":
                items = fields.get("fields") or []
                last = unwrap(items[-1]) if items else ("", {})
                columns.add("*" if last[0] == "A_Star" else str(last[1].get("sval", "")))
        return tuple(relations), frozenset(columns)

    def _add_column(self, table: Table, col: Node, file: str, tx: int, validated: bool) -> None:
        name = col.get("colname", "")
        ctype = column_type(col.get("typeName"))
        column = Column(name, ctype.storage if ctype is not None else None)
        if ctype is not None and ctype.is_serial:
            column.not_null = True
            column.has_default = True
            column.default_sequence = self._owned_sequence(table, name, file)
        for item in col.get("constraints") or ():
            _, con = unwrap(item)
            contype = con.get("contype", "")
            if contype in ("CONSTR_NOTNULL",):
                column.not_null = True
            elif contype in ("CONSTR_DEFAULT", "CONSTR_IDENTITY", "CONSTR_GENERATED"):
                column.has_default = True
                if contype == "CONSTR_DEFAULT":
                    column.default_sequence = self._nextval_sequence(con.get("raw_expr"))
                if contype == "CONSTR_IDENTITY":
                    column.not_null = True
                    column.default_sequence = self._owned_sequence(table, name, file)
            elif contype == "CONSTR_PRIMARY":
                column.not_null = True
                self._add_constraint(table, {**con, "keys": [{"String": {"sval": name}}]}, file, tx, True)
            elif contype in ("CONSTR_UNIQUE", "CONSTR_CHECK", "CONSTR_FOREIGN", "CONSTR_EXCLUSION"):
                extra: Node = {"keys": [{"String": {"sval": name}}]}
                if contype == "CONSTR_FOREIGN":
                    extra = {"fk_attrs": [{"String": {"sval": name}}]}
                self._add_constraint(table, {**con, **extra}, file, tx, True)
        table.columns[name] = column

    def _owned_sequence(self, table: Table, column: str, file: str) -> QName:
        """serial and identity columns own a sequence named <table>_<column>_seq."""
        name = (table.name[0], f"{table.name[1]}_{column}_seq"[:63])
        self.sequences[name] = Sequence(name, file, (table.name, column))
        return name

    def _nextval_sequence(self, expr: Any) -> QName | None:
        """``nextval('seq'::regclass)`` → the sequence."""
        for kind, fields in walk(expr):
            if kind == "FuncCall" and strings(fields.get("funcname"))[-1:] == ["nextval"]:
                args = fields.get("args") or []
                value = const_value(args[0]) if args else None
                if isinstance(value, str):
                    return self.qualify([p.strip('"') for p in value.split(".")])
        return None

    def _add_constraint(self, table: Table, con: Node, file: str, tx: int, new_table: bool) -> Constraint | None:
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
            taken_over = self.indexes.pop((table.name[0], str(con["indexname"])), None)
            if taken_over is not None:
                columns = tuple(c for c in taken_over.columns if c is not None)
        expr_columns: tuple[str, ...] = ()
        if kind == "CHECK":
            expr_columns = tuple(dict.fromkeys(
                str(unwrap(f["fields"][-1])[1].get("sval", "")) for k, f in walk(con.get("raw_expr"))
                if k == "ColumnRef" and f.get("fields")))
        # PostgreSQL names a CHECK that reads exactly one column after it (<table>_<column>_check)
        named_by = columns or (expr_columns if kind == "CHECK" and len(expr_columns) == 1 else ())
        name = con.get("conname") or generated_constraint_name(table.name[1], kind, named_by, con)
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
            constraint.ref_table = self.rv(con.get("pktable"))
            constraint.ref_columns = tuple(strings(con.get("pk_attrs")))
            if not constraint.ref_columns:
                ref = self.tables.get(constraint.ref_table)
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

    def _apply_AlterTableStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        if node.get("objtype", "OBJECT_TABLE") not in ("OBJECT_TABLE", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE"):
            return
        name = self.rv(node.get("relation"))
        table = self.tables.get(name)
        if table is None:
            table = Table(name=name, created_file="")  # existed before the run
            self.tables[name] = table
        for item in node.get("cmds") or ():
            _, cmd = unwrap(item)
            self._apply_alter_cmd(table, cmd, file, tx)

    def _apply_alter_cmd(self, table: Table, cmd: Node, file: str, tx: int) -> None:
        subtype = cmd.get("subtype", "")
        colname = cmd.get("name", "")
        definition = unwrap(cmd.get("def"))[1] if cmd.get("def") else {}
        if subtype == "AT_AddColumn":
            if definition.get("colname") in table.columns and cmd.get("missing_ok"):
                return
            self._add_column(table, definition, file, tx, validated=True)
            table.columns[definition.get("colname", "")].created_file = file
        elif subtype == "AT_DropColumn":
            table.columns.pop(colname, None)
            for key in [k for k, c in table.constraints.items() if colname in c.columns]:
                del table.constraints[key]
            for ix_name in [k for k, ix in self.indexes.items() if ix.table == table.name and colname in ix.columns]:
                del self.indexes[ix_name]
        elif subtype == "AT_AlterColumnType":
            col = table.columns.get(colname)
            new_type = column_type(definition.get("typeName"))
            if col is None:
                table.columns[colname] = Column(colname, new_type)
            else:
                col.type = new_type
        elif subtype == "AT_AddConstraint":
            self._add_constraint(table, definition, file, tx, new_table=False)
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
                table.columns[colname].default_sequence = self._nextval_sequence(default)
        elif subtype == "AT_AttachPartition":
            child = self.rv(unwrap(cmd.get("def"))[1].get("name"))
            partition = self.tables.setdefault(child, Table(name=child, created_file=""))
            partition.partition_of = table.name
            bound = unwrap(cmd.get("def"))[1].get("bound") or {}
            partition.default_partition = bool(bound.get("is_default"))
            partition.partition_bound = bound or None
        elif subtype in ("AT_DetachPartition", "AT_DetachPartitionFinalize"):
            child = self.rv(unwrap(cmd.get("def"))[1].get("name"))
            if child in self.tables:
                self.tables[child].partition_of = None
                self.tables[child].default_partition = False
                self.tables[child].partition_bound = None
        elif subtype == "AT_EnableRowSecurity":
            table.rls_enabled = True
        elif subtype == "AT_DisableRowSecurity":
            table.rls_enabled = False
        elif subtype == "AT_ForceRowSecurity":
            table.rls_forced = True
        elif subtype == "AT_NoForceRowSecurity":
            table.rls_forced = False

    def _apply_RenameStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        rtype = node.get("renameType", "")
        new = node.get("newname", "")
        if rtype in ("OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE"):
            old = self.rv(node.get("relation"))
            table = self.tables.pop(old, None) or Table(name=old, created_file="")
            table.name = (old[0], new)
            self.tables[table.name] = table
            for ix in self.indexes.values():
                if ix.table == old:
                    ix.table = table.name
        elif rtype == "OBJECT_COLUMN":
            owner = self.tables.get(self.rv(node.get("relation")))
            old_col = node.get("subname", "")
            if owner and old_col in owner.columns:
                col = owner.columns.pop(old_col)
                col.name = new
                owner.columns[new] = col
                for con in owner.constraints.values():
                    con.columns = tuple(new if c == old_col else c for c in con.columns)
                for ix in self.indexes.values():
                    if ix.table == owner.name:
                        ix.columns = tuple(new if c == old_col else c for c in ix.columns)
        elif rtype == "OBJECT_TABCONSTRAINT":
            holder = self.tables.get(self.rv(node.get("relation")))
            old_con = node.get("subname", "")
            if holder and old_con in holder.constraints:
                con = holder.constraints.pop(old_con)
                con.name = new
                holder.constraints[new] = con
        elif rtype in ("OBJECT_TYPE", "OBJECT_DOMAIN"):
            # columns keep pointing at the renamed type (PostgreSQL stores its OID, not its name)
            old_parts = strings(unwrap(node.get("object"))[1].get("items"))
            old_type = qualify(old_parts, self.default_schema)
            for table in self.tables.values():
                for col in table.columns.values():
                    if col.type is not None and qualify(col.type.name.split("."), self.default_schema) == old_type:
                        renamed = ".".join([*old_parts[:-1], new])
                        col.type = ColumnType(renamed, col.type.mods, col.type.array_dims)
        elif rtype == "OBJECT_INDEX":
            old_ix = self.rv(node.get("relation"))
            index = self.indexes.pop(old_ix, None)
            if index:
                index.name = (old_ix[0], new)
                self.indexes[index.name] = index

    def _apply_DropStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        rtype = node.get("removeType", "")
        if rtype in ("OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE", "OBJECT_TYPE", "OBJECT_DOMAIN",
                     "OBJECT_SEQUENCE"):
            self._drop_objects(node)
            return
        for obj in node.get("objects") or ():
            parts = strings(unwrap(obj)[1].get("items")) if "List" in obj else []
            if not parts:
                continue
            name = qualify(parts, self.default_schema)
            if rtype in ("OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE"):
                self._drop_relation(name)
            elif rtype == "OBJECT_INDEX":
                self.indexes.pop(name, None)
            elif rtype == "OBJECT_POLICY" and len(parts) >= 2:
                table = self.tables.get(qualify(parts[:-1], self.default_schema))
                if table:
                    table.policies.pop(parts[-1], None)

    def _drop_relation(self, name: QName) -> None:
        """A table goes with its indexes, its partitions and the sequences its columns own."""
        self.tables.pop(name, None)
        for key in [k for k, ix in self.indexes.items() if ix.table == name]:
            del self.indexes[key]
        for key in [k for k, seq in self.sequences.items() if seq.owned_by and seq.owned_by[0] == name]:
            del self.sequences[key]
        for partition in self.partitions_of(name):
            self._drop_relation(partition.name)

    def _drop_objects(self, node: Node) -> None:
        """DROP FUNCTION / PROCEDURE / TYPE / DOMAIN / SEQUENCE."""
        for kind, name in _dropped_objects(node, self.default_schema):
            if kind == "function":
                self.functions.pop(name, None)
            elif kind == "type":
                self.types.pop(name, None)
            elif kind == "sequence":
                self.sequences.pop(name, None)

    def _apply_IndexStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        table = self.rv(node.get("relation"))
        idxname = node.get("idxname")
        columns: list[str | None] = []
        for param in node.get("indexParams") or ():
            _, elem = unwrap(param)
            columns.append(elem.get("name"))
        if not idxname:
            idxname = f"{table[1]}_{'_'.join(c or 'expr' for c in columns)}_idx"[:63]
        name = (table[0], idxname)
        if name in self.indexes and node.get("if_not_exists"):
            return
        self.indexes[name] = Index(name, table, tuple(columns), bool(node.get("unique")), file,
                                   partial=node.get("whereClause") is not None)

    def _apply_CreateFunctionStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        name = qualify(strings(node.get("funcname")), self.default_schema)
        volatility = "volatile"
        language = "sql"
        body: str | None = None
        for opt in node.get("options") or ():
            _, de = unwrap(opt)
            defname = de.get("defname")
            arg = de.get("arg")
            if defname == "volatility":
                volatility = unwrap(arg)[1].get("sval", "volatile")
            elif defname == "language":
                language = unwrap(arg)[1].get("sval", "sql")
            elif defname == "as":
                items = strings(unwrap(arg)[1].get("items"))
                body = items[0] if items else None
        kind = "procedure" if node.get("is_procedure") else "function"
        args = tuple(_type_text(unwrap(p)[1].get("argType")) for p in node.get("parameters") or ()
                     if unwrap(p)[1].get("mode") not in ("FUNC_PARAM_OUT", "FUNC_PARAM_TABLE"))
        function = Function(name, volatility, language, body, file, None, kind, args)
        _routine_options(function, node.get("options"))
        self.functions[name] = function
        self._function_files.add(file)

    def _apply_AlterFunctionStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        function = self.functions.get(qualify(strings((node.get("func") or {}).get("objname")), self.default_schema))
        if function is not None:
            _routine_options(function, node.get("actions"))

    def _apply_CreateEnumStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        name = qualify(strings(node.get("typeName")), self.default_schema)
        self.types[name] = UserType(name, "enum", file, strings(node.get("vals")))

    def _apply_CreateDomainStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        name = qualify(strings(node.get("domainname")), self.default_schema)
        self.types[name] = UserType(name, "domain", file, base=_type_text(node.get("typeName")))

    def _apply_CompositeTypeStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        name = self.rv(node.get("typevar"))
        self.types[name] = UserType(name, "composite", file)

    def _apply_CreateRangeStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        name = qualify(strings(node.get("typeName")), self.default_schema)
        self.types[name] = UserType(name, "range", file)

    def _apply_AlterEnumStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        name = qualify(strings(node.get("typeName")), self.default_schema)
        enum = self.types.setdefault(name, UserType(name, "enum", ""))
        new, old = str(node.get("newVal", "")), node.get("oldVal")
        if old is not None:
            enum.labels = [new if label == old else label for label in enum.labels]
        elif new not in enum.labels:
            enum.labels.append(new)
            self.enum_labels_added.setdefault((file, tx), []).append((name, new))

    def _apply_CreateSeqStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        name = self.rv(node.get("sequence"))
        if name in self.sequences and node.get("if_not_exists"):
            return
        self.sequences[name] = Sequence(name, file, self._owner_option(node.get("options")))

    def _apply_AlterSeqStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        name = self.rv(node.get("sequence"))
        sequence = self.sequences.setdefault(name, Sequence(name, ""))
        for opt in node.get("options") or ():
            if unwrap(opt)[1].get("defname") == "owned_by":
                sequence.owned_by = self._owner_option(node.get("options"))

    def _owner_option(self, options: Any) -> tuple[QName, str] | None:
        for opt in options or ():
            _, de = unwrap(opt)
            if de.get("defname") == "owned_by":
                parts = strings(unwrap(de.get("arg"))[1].get("items"))
                if len(parts) >= 2:  # OWNED BY NONE is one part
                    return self.qualify(parts[:-1]), parts[-1]
        return None

    def _apply_AlterObjectSchemaStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        """ALTER … SET SCHEMA: the object keeps everything but its qualified name."""
        kind = moved_object_kind(node)
        old = moved_object_name(node, self.default_schema)
        if kind is None or old is None:
            return
        new = (str(node.get("newschema", "")), old[1])
        registries: dict[str, dict[Any, Any]] = {"relation": self.tables, "function": self.functions,
                                                 "type": self.types, "sequence": self.sequences}
        registry = registries[kind]
        if old in registry:
            moved = registry.pop(old)
            moved.name = new
            registry[new] = moved
        if kind == "relation":
            for ix_name in [k for k, ix in self.indexes.items() if ix.table == old]:
                index = self.indexes.pop(ix_name)
                index.table, index.name = new, (new[0], ix_name[1])
                self.indexes[index.name] = index
        for created_kind in ("type", "sequence", "view", "function"):
            if (created_kind, old) in self.objects_created:
                self.objects_created[(created_kind, new)] = self.objects_created.pop((created_kind, old))

    def _apply_CreatePolicyStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        table = self.tables.get(self.rv(node.get("table")))
        if table is None:
            return
        name = node.get("policy_name", "")
        table.policies[name] = Policy(name, node.get("cmd_name", "all"), node.get("qual"), node.get("with_check"))


def not_null_check_column(expr: Any) -> str | None:
    """``col IS NOT NULL`` → ``col`` (the only CHECK that lets PG12+ skip SET NOT NULL's scan)."""
    kind, fields = unwrap(expr)
    if kind != "NullTest" or fields.get("nulltesttype") != "IS_NOT_NULL":
        return None
    arg_kind, arg = unwrap(fields.get("arg"))
    if arg_kind != "ColumnRef":
        return None
    parts = strings(arg.get("fields"))
    return parts[-1] if parts else None


def generated_constraint_name(table: str, kind: str, columns: tuple[str, ...], con: Node) -> str:
    """The name PostgreSQL gives an unnamed constraint (ChooseConstraintName)."""
    suffix = {"PRIMARY": "pkey", "UNIQUE": "key", "CHECK": "check", "FOREIGN": "fkey", "EXCLUSION": "excl"}[kind]
    if kind == "PRIMARY":
        return f"{table}_pkey"[:63]
    cols = "_".join(columns) if columns else ""
    return (f"{table}_{cols}_{suffix}" if cols else f"{table}_{suffix}")[:63]


_CREATED_KINDS = {
    "CreateSchemaStmt": "schema",
    "CreateEnumStmt": "type",
    "CompositeTypeStmt": "type",
    "CreateDomainStmt": "type",
    "CreateRangeStmt": "type",
    "CreateSeqStmt": "sequence",
    "ViewStmt": "view",
    "CreateFunctionStmt": "function",
}


def _created_object(kind: str, node: Node, default_schema: str) -> tuple[str, QName] | None:
    label = _CREATED_KINDS.get(kind)
    if kind == "CreateTableAsStmt" and node.get("objtype") == "OBJECT_MATVIEW":
        return ("view", range_var((node.get("into") or {}).get("rel"), default_schema))
    if label is None:
        return None
    if kind == "CreateSchemaStmt":
        return (label, ("", node.get("schemaname", "")))
    if kind in ("CreateEnumStmt", "CreateRangeStmt"):
        return (label, qualify(strings(node.get("typeName")), default_schema))
    if kind == "CreateDomainStmt":
        return (label, qualify(strings(node.get("domainname")), default_schema))
    if kind == "CompositeTypeStmt":
        return (label, range_var(node.get("typevar"), default_schema))
    if kind == "CreateSeqStmt":
        return (label, range_var(node.get("sequence"), default_schema))
    if kind == "ViewStmt":
        return (label, range_var(node.get("view"), default_schema))
    return (label, qualify(strings(node.get("funcname")), default_schema))


_MOVED_RELATIONS = ("OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE")
_MOVED_KINDS = {**{k: "relation" for k in _MOVED_RELATIONS}, "OBJECT_SEQUENCE": "sequence",
                "OBJECT_FUNCTION": "function", "OBJECT_PROCEDURE": "function", "OBJECT_ROUTINE": "function",
                "OBJECT_TYPE": "type", "OBJECT_DOMAIN": "type"}


def moved_object_kind(node: Node) -> str | None:
    """What ALTER … SET SCHEMA moves: relation, sequence, function or type (None for anything else)."""
    return _MOVED_KINDS.get(str(node.get("objectType", "")))


def moved_object_name(node: Node, default_schema: str) -> QName | None:
    if node.get("relation"):
        return range_var(node["relation"], default_schema)
    kind, obj = unwrap(node.get("object"))
    if kind == "ObjectWithArgs":
        return qualify(strings(obj.get("objname")), default_schema)
    if kind == "List":
        return qualify(strings(obj.get("items")), default_schema)
    if kind == "TypeName":
        return qualify(strings(obj.get("names")), default_schema)
    return None


_DROPPED_KINDS = {"OBJECT_FUNCTION": "function", "OBJECT_PROCEDURE": "function", "OBJECT_ROUTINE": "function",
                  "OBJECT_TYPE": "type", "OBJECT_DOMAIN": "type", "OBJECT_SEQUENCE": "sequence",
                  "OBJECT_VIEW": "view", "OBJECT_MATVIEW": "view", "OBJECT_SCHEMA": "schema"}


def dropped_names(node: Node, default_schema: str) -> list[QName]:
    """The qualified names a DropStmt names, whatever the object's node (List, TypeName, ObjectWithArgs)."""
    out: list[QName] = []
    for obj in node.get("objects") or ():
        kind, fields = unwrap(obj)
        if kind == "List":
            out.append(qualify(strings(fields.get("items")), default_schema))
        elif kind == "TypeName":
            out.append(qualify(strings(fields.get("names")), default_schema))
        elif kind == "ObjectWithArgs":
            out.append(qualify(strings(fields.get("objname")), default_schema))
        elif kind == "String":
            out.append(("", str(fields.get("sval", ""))))
    return out


def _dropped_objects(node: Node, default_schema: str) -> list[tuple[str, QName]]:
    label = _DROPPED_KINDS.get(str(node.get("removeType", "")))
    return [(label, name) for name in dropped_names(node, default_schema)] if label else []


def _type_text(type_name: Any) -> str:
    """A TypeName as text for messages (``integer``, ``public.mood``, ``text[]``)."""
    ctype = column_type(type_name)
    return str(ctype) if ctype is not None else "?"


def _routine_options(function: Function, options: Any) -> None:
    """SECURITY DEFINER/INVOKER and SET/RESET clauses of CREATE or ALTER FUNCTION."""
    for opt in options or ():
        _, de = unwrap(opt)
        defname = de.get("defname")
        if defname == "security":
            function.security_definer = bool(unwrap(de.get("arg"))[1].get("boolval", False))
        elif defname == "set":
            _, setting = unwrap(de.get("arg"))
            name = str(setting.get("name", ""))
            if setting.get("kind") in ("VAR_RESET", "VAR_SET_DEFAULT"):
                function.config.pop(name, None)
            elif setting.get("kind") == "VAR_RESET_ALL":
                function.config.clear()
            else:
                function.config[name] = ", ".join(str(const_value(a)) for a in setting.get("args") or ())
