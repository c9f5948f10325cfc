"""The schema model: what earlier statements of the run created, altered, renamed or dropped, and the
questions rules ask of it (is this table new? what was this column's type? which indexes does it have?).

Rules only read it; the engine changes it through the replay (replay.py), after the rules have judged a
statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from schemalint.model.objects import Column, Function, Index, Sequence, Table, UserType
from schemalint.sql.names import DEFAULT_SCHEMA, QName, display, qualify, range_var, strings
from schemalint.sql.nodes import Node, const_value, walk
from schemalint.sql.plpgsql import called_routines


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
    function_files: set[str] = field(default_factory=set)  # files that created a routine
    dropped_tables: set[QName] = field(default_factory=set)  # dropped by the run and not created again
    # routines by name and argument types (f(integer) and f(bigint) are two objects) → the file that made them
    routine_files: dict[tuple[QName, tuple[str, ...]], str] = field(default_factory=dict)
    # seeded from a configured baseline (a schema dump) that parsed whole: a table the model does not hold does
    # not exist
    complete: bool = False

    def rv(self, node: Any) -> QName:
        return range_var(node, self.default_schema)

    def qualify(self, parts: list[str]) -> QName:
        return qualify(parts, self.default_schema)

    # --- tables and columns ----------------------------------------------------------------
    def table(self, name: QName) -> Table | None:
        return self.tables.get(name)

    def routine_created_in(self, name: QName, args: tuple[str, ...] | None) -> str | None:
        """The file that created the routine with these argument types (None: any of that name); None if the
        run did not create it."""
        if args is not None:
            return self.routine_files.get((name, args))
        return next((f for (n, _), f in self.routine_files.items() if n == name), None)

    def known_dropped(self, name: QName) -> bool:
        """The run dropped this table (or view) and nothing created it again: it does not exist."""
        return name in self.dropped_tables and name not in self.tables

    def is_new_table(self, name: QName, file: str) -> bool:
        """Created earlier in this same file: nobody can be using it yet."""
        table = self.tables.get(name)
        return table is not None and table.created_file == file

    def column(self, table: QName, column: str) -> Column | None:
        t = self.tables.get(table)
        return t.columns.get(column) if t else None

    def columns_of_type(self, type_name: QName) -> list[tuple[Table, Column]]:
        out = []
        for table in self.tables.values():
            for col in table.columns.values():
                if col.type is not None and self.qualify(col.type.name.split(".")) == type_name:
                    out.append((table, col))
        return out

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

    def tenancy_evidence(self, column: str, setting: str) -> str | None:
        """What shows a multi-tenant schema: a table with the tenant column ("accounts.tenant_id"), else a
        policy that reads the tenant setting ("policy p on accounts"); None when nothing does."""
        owned = [t for t in self.tables.values() if t.kind in ("table", "partitioned") and column in t.columns]
        # a table whose own key is the tenant column is the tenants' registry: name a table a tenant owns rows of
        owned.sort(key=lambda t: any(c.kind == "PRIMARY" and c.columns == (column,) for c in t.constraints.values()))
        if owned:
            return f"{display(owned[0].name, self.default_schema)}.{column}"
        for table in self.tables.values():
            for policy in table.policies.values():
                if any(reads_setting(expr, setting) for expr in (policy.using, policy.with_check)):
                    return f"policy {policy.name} on {display(table.name, self.default_schema)}"
        return None

    # --- keys and indexes ------------------------------------------------------------------
    def foreign_key_target(self, table: QName, constraint: str) -> QName | None:
        """The table a known foreign key of ``table`` references."""
        known = self.tables.get(table)
        con = known.constraints.get(constraint) if known is not None else None
        return con.ref_table if con is not None and con.kind == "FOREIGN" else None

    def tables_using_type(self, type_name: QName) -> list[QName]:
        """The tables (and partitions) with a column of this type, as the history knows them."""
        spellings = {f"{type_name[0]}.{type_name[1]}"}
        if type_name[0] == self.default_schema:
            spellings.add(type_name[1])
        return [t.name for t in self.tables.values() if t.kind in ("table", "partitioned")
                and any(c.type is not None and c.type.name in spellings for c in t.columns.values())]

    def index_table(self, index: QName) -> QName | None:
        ix = self.indexes.get(index)
        return ix.table if ix else None

    def indexed_column_lists(self, table: QName) -> list[tuple[str | None, ...]]:
        """The column lists of every index of ``table``, the ones its keys and exclusion constraints build
        included (None stands for an expression)."""
        known = self.tables.get(table)
        lists: list[tuple[str | None, ...]] = [
            tuple(c.columns) for c in known.constraints.values() if c.kind in ("PRIMARY", "UNIQUE", "EXCLUSION")
        ] if known is not None else []
        lists.extend(ix.columns for ix in self.indexes.values() if ix.table == table)
        return lists

    def unique_keys(self, table: QName) -> list[tuple[str, frozenset[str]]]:
        """The PRIMARY KEY / UNIQUE constraints and full unique indexes of a table: (name, columns)."""
        known = self.tables.get(table)
        keys = [(c.name, frozenset(c.columns)) for c in known.constraints.values()
                if c.kind in ("PRIMARY", "UNIQUE")] if known is not None else []
        keys.extend((ix.name[1], frozenset(c for c in ix.columns if c is not None)) for ix in self.indexes.values()
                    if ix.table == table and ix.unique and not ix.partial and None not in ix.columns)
        return keys

    # --- routines, types and other objects -------------------------------------------------
    def function(self, parts: list[str]) -> Function | None:
        if len(parts) >= 2:
            return self.functions.get((parts[-2], parts[-1]))
        return self.functions.get((self.default_schema, parts[0])) if parts else None

    def routines_called(self, kind: str, node: Node, file: str) -> Iterator[tuple[list[str], Function]]:
        """Functions and procedures created earlier in ``file`` that this SELECT or CALL runs."""
        if kind not in ("SelectStmt", "CallStmt") or file not in self.function_files:
            return
        for parts in called_routines(kind, node):
            routine = self.function(parts)
            if routine is not None and routine.body and routine.created_file == file:
                yield parts, routine

    def user_type(self, name: QName) -> UserType | None:
        return self.types.get(name)

    def labels_added_in(self, file: str, tx: int) -> list[tuple[QName, str]]:
        """Enum labels ``ALTER TYPE … ADD VALUE`` added in this file's transaction ``tx``."""
        return self.enum_labels_added.get((file, tx), [])

    def object_created_in(self, kind: str, name: QName) -> str | None:
        """The file that created a schema, type, sequence, view or function, if the run did."""
        return self.objects_created.get((kind, name))


def reads_setting(expr: Any, setting: str) -> bool:
    """Does the expression call ``current_setting('<setting>' …)``?"""
    for kind, fields in walk(expr):
        if kind == "FuncCall" and strings(fields.get("funcname"))[-1:] == ["current_setting"]:
            args = fields.get("args") or []
            if args and const_value(args[0]) == setting:
                return True
    return False
