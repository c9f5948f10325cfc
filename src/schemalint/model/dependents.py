"""What PostgreSQL drops along with an object under CASCADE, as far as the migration history knows it.

Read by SL210 (drop-cascade); the facts come from the schema model (views' sources, foreign keys, column
types, sequence defaults), so every rule that asks gets the same answer.
"""

from __future__ import annotations

from schemalint.model.objects import Table
from schemalint.model.schema import SchemaModel
from schemalint.sql.names import QName, display, quote_ident


def _where(model: SchemaModel, created_file: str) -> str:
    return f" (created in {created_file})" if created_file else ""


def _view(model: SchemaModel, view: Table) -> str:
    label = "materialized view" if view.kind == "matview" else "view"
    return f"{label} {display(view.name, model.default_schema)}{_where(model, view.created_file)}"


def _views_on(model: SchemaModel, relation: QName, column: str | None = None,
              seen: set[QName] | None = None) -> list[str]:
    """Views reading ``relation`` (and the column, when given), and the views on those views."""
    seen = seen if seen is not None else {relation}
    out: list[str] = []
    for view in model.views_reading(relation):
        if view.name in seen or (column is not None and not ({column, "*"} & view.view_columns)):
            continue
        seen.add(view.name)
        out.append(_view(model, view))
        out.extend(_views_on(model, view.name, None, seen))
    return out


def _foreign_keys_to(model: SchemaModel, table: QName, columns: set[str] | None = None) -> list[str]:
    out = []
    for other in model.tables.values():
        if other.name == table:
            continue
        for con in other.constraints.values():
            if con.kind != "FOREIGN" or con.ref_table != table:
                continue
            if columns is not None and not (set(con.ref_columns) & columns):
                continue
            out.append(f"the foreign key {quote_ident(con.name)} on {display(other.name, model.default_schema)}")
    return out


def of_relation(model: SchemaModel, relation: QName) -> list[str]:
    """DROP TABLE/VIEW … CASCADE: the views on it and the foreign keys that reference it."""
    return _views_on(model, relation) + _foreign_keys_to(model, relation)


def of_column(model: SchemaModel, table: QName, column: str) -> list[str]:
    """ALTER TABLE … DROP COLUMN … CASCADE: views using the column, foreign keys referencing it."""
    return _views_on(model, table, column) + _foreign_keys_to(model, table, {column})


def of_constraint(model: SchemaModel, table: QName, constraint: str) -> list[str]:
    """DROP CONSTRAINT … CASCADE of a key: the foreign keys that rely on it."""
    known = model.table(table)
    con = known.constraints.get(constraint) if known is not None else None
    if con is None or con.kind not in ("PRIMARY", "UNIQUE"):
        return []
    return _foreign_keys_to(model, table, set(con.columns))


def of_type(model: SchemaModel, type_name: QName) -> list[str]:
    """DROP TYPE/DOMAIN … CASCADE drops every column of that type (and its data), and domains over it."""
    out = [f"column {display(t.name, model.default_schema)}.{quote_ident(c.name)} (and its data)"
           for t, c in model.columns_of_type(type_name)]
    short = type_name[1]
    out.extend(f"domain {display(d.name, model.default_schema)}" for d in model.types.values()
               if d.kind == "domain" and d.base is not None and d.base.split(".")[-1] == short)
    out.extend(f"function {display(f.name, model.default_schema)}({', '.join(f.arg_types)})"
               for f in model.functions.values() if any(a.split(".")[-1] == short for a in f.arg_types))
    return out


def of_sequence(model: SchemaModel, sequence: QName) -> list[str]:
    """DROP SEQUENCE … CASCADE drops the defaults that call nextval() on it."""
    return [f"the default of {display(t.name, model.default_schema)}.{quote_ident(c.name)}"
            for t in model.tables.values() for c in t.columns.values() if c.default_sequence == sequence]


def of_schema(model: SchemaModel, schema: str) -> list[str]:
    """DROP SCHEMA … CASCADE drops everything in it."""
    relations = [f"{'view' if t.kind in ('view', 'matview') else 'table'} {display(t.name, model.default_schema)}"
                 for t in model.tables.values() if t.name[0] == schema]
    routines = [f"function {display(f.name, model.default_schema)}" for f in model.functions.values()
                if f.name[0] == schema]
    types = [f"type {display(t.name, model.default_schema)}" for t in model.types.values() if t.name[0] == schema]
    return relations + routines + types

