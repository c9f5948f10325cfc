"""The schema model: what earlier statements of the run created, altered, renamed or dropped.

Rules read it (is this table new? what was this column's type?); only the engine writes it, by
calling :meth:`SchemaModel.apply` after the rules have judged a statement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemalint.sql.names import DEFAULT_SCHEMA, QName, qualify, range_var, strings
from schemalint.sql.nodes import Node, unwrap
from schemalint.types import ColumnType, column_type

VOLATILITIES = ("immutable", "stable", "volatile")


@dataclass(slots=True)
class Column:
    name: str
    type: ColumnType | None
    not_null: bool = False
    has_default: bool = False
    created_file: str = ""  # "" when it existed before the run or came with its table


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


@dataclass(slots=True)
class Index:
    name: QName
    table: QName
    columns: tuple[str | None, ...]  # None for an expression
    unique: bool = False
    created_file: str = ""


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


@dataclass(slots=True)
class SchemaModel:
    default_schema: str = DEFAULT_SCHEMA
    tables: dict[QName, Table] = field(default_factory=dict)
    indexes: dict[QName, Index] = field(default_factory=dict)
    functions: dict[QName, Function] = field(default_factory=dict)
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

    def has_functions_from(self, file: str) -> bool:
        """Did this file create a function or procedure (that a later statement may call)?"""
        return file in self._function_files

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

    def _apply_CreateStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        name = self.rv(node.get("relation"))
        if name in self.tables and node.get("if_not_exists"):
            return
        table = Table(name=name, created_file=file)
        if node.get("partspec"):
            table.kind = "partitioned"
        if node.get("partbound"):
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
        self.tables[name] = table

    def _apply_ViewStmt(self, node: Node, file: str, tx: int, location: int) -> None:
        name = self.rv(node.get("view"))
        existing = self.tables.get(name)
        if existing is None or existing.kind != "view":
            self.tables[name] = Table(name=name, created_file=file, kind="view")

    def _add_column(self, table: Table, col: Node, file: str, tx: int, validated: bool) -> None:
        name = col.get("colname", "")
        ctype = column_type(col.get("typeName"))
        column = Column(name, ctype.storage if ctype is not None else None)
        if ctype is not None and ctype.is_serial:
            column.not_null = True
            column.has_default = True
        for item in col.get("constraints") or ():
            _, con = unwrap(item)
            contype = con.get("contype", "")
            if contype in ("CONSTR_NOTNULL",):
                column.not_null = True
            elif contype in ("CONSTR_DEFAULT", "CONSTR_IDENTITY", "CONSTR_GENERATED"):
                column.has_default = True
                if contype == "CONSTR_IDENTITY":
                    column.not_null = True
            elif contype == "CONSTR_PRIMARY":
                column.not_null = True
                self._add_constraint(table, {**con, "keys": [{"String": {"sval": name}}]}, file, tx, True)
            elif contype in ("CONSTR_UNIQUE", "CONSTR_CHECK", "CONSTR_FOREIGN", "CONSTR_EXCLUSION"):
                extra: Node = {"keys": [{"String": {"sval": name}}]}
                if contype == "CONSTR_FOREIGN":
                    extra = {"fk_attrs": [{"String": {"sval": name}}]}
                self._add_constraint(table, {**con, **extra}, file, tx, True)
        table.columns[name] = column

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
        name = con.get("conname") or generated_constraint_name(table.name[1], kind, columns, con)
        constraint = Constraint(
            name=name,
            kind=kind,
            columns=columns,
            validated=not con.get("skip_validation", False),
            created_file=file,
            created_tx=tx,
        )
        if kind == "CHECK":
            constraint.not_null_column = not_null_check_column(con.get("raw_expr"))
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
                table.columns[colname].has_default = bool(cmd.get("def"))
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
        for obj in node.get("objects") or ():
            parts = strings(unwrap(obj)[1].get("items")) if "List" in obj else []
            if not parts:
                continue
            name = qualify(parts, self.default_schema)
            if rtype in ("OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE"):
                self.tables.pop(name, None)
                for key in [k for k, ix in self.indexes.items() if ix.table == name]:
                    del self.indexes[key]
            elif rtype == "OBJECT_INDEX":
                self.indexes.pop(name, None)
            elif rtype == "OBJECT_POLICY" and len(parts) >= 2:
                table = self.tables.get(qualify(parts[:-1], self.default_schema))
                if table:
                    table.policies.pop(parts[-1], None)

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
        self.indexes[name] = Index(name, table, tuple(columns), bool(node.get("unique")), file)

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
        self.functions[name] = Function(name, volatility, language, body, file, None, kind)
        self._function_files.add(file)

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
