"""``verify --rows N``: type-correct synthetic rows in the tables a migration touches, generated inside
PostgreSQL (``INSERT … SELECT … FROM generate_series``), so locks, rewrites and scans take the time they take
on a real table.

Each column gets an expression of ``g`` (the row number) for its type; unique columns get distinct values,
foreign keys take their values from the referenced table (filled first, joined on a row number), the tenant
column cycles through a configurable number of tenants, columns with a default or an identity keep it.
A table that cannot be filled (a CHECK no simple value satisfies, a type with no generator) is reported in
one line and left empty; the run goes on."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from schemalint.verify.server import clip

COLUMNS = """
    SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
           a.atthasdef, a.attidentity::text, a.attgenerated::text, t.typtype::text,
           COALESCE(bt.typname, t.typname), t.typcategory::text, t.typelem <> 0 AND t.typlen = -1,
           a.atttypid::pg_catalog.regtype::text
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_catalog.pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
    WHERE a.attrelid = %s::pg_catalog.regclass AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attnum"""

UNIQUE_COLUMNS = """
    SELECT a.attname FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
    WHERE i.indrelid = %s::pg_catalog.regclass AND i.indisunique"""

FOREIGN_KEYS = """
    SELECT k.conname,
           ARRAY(SELECT a.attname FROM pg_catalog.unnest(k.conkey) WITH ORDINALITY u(n, o)
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o),
           pg_catalog.format('%%I.%%I', n.nspname, c.relname),
           ARRAY(SELECT a.attname FROM pg_catalog.unnest(k.confkey) WITH ORDINALITY u(n, o)
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.o)
    FROM pg_catalog.pg_constraint k
    JOIN pg_catalog.pg_class c ON c.oid = k.confrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE k.conrelid = %s::pg_catalog.regclass AND k.contype = 'f'"""

_INTEGER = {"int2": 32767, "int4": 2147483647, "int8": 9223372036854775807}
_NUMERIC_TYPMOD = re.compile(r"numeric\((\d+),(\d+)\)")
_LENGTH = re.compile(r"\((\d+)\)")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    sql_type: str  # format_type: "character varying(50)", "numeric(10,2)", "public.mood"
    not_null: bool
    has_default: bool
    identity: str  # "", "a" (ALWAYS), "d" (BY DEFAULT)
    generated: str  # "", "s"
    type_kind: str  # pg_type.typtype: b, e (enum), d (domain), c (composite), r (range)
    base: str  # the base type's name (a domain's underlying type)
    category: str  # pg_type.typcategory
    is_array: bool
    regtype: str


@dataclass(slots=True)
class Filled:
    rows: dict[str, int] = field(default_factory=dict)  # table → rows generated
    failed: dict[str, str] = field(default_factory=dict)  # table → why it is left empty
    seconds: dict[str, float] = field(default_factory=dict)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def value_expression(column: Column, unique: bool, g: str = "g") -> str | None:
    """An SQL expression of the row number ``g`` that is a valid value of the column (distinct per row when
    ``unique``), or None when schemalint has no generator for the type."""
    if column.is_array:
        return "ARRAY[]::" + column.sql_type
    base = column.base
    if column.type_kind == "e":
        return (f"(pg_catalog.enum_range(NULL::{column.regtype}))"
                f"[1 + ({g} % pg_catalog.array_length(pg_catalog.enum_range(NULL::{column.regtype}), 1))]")
    if base in _INTEGER:
        return f"({g} % {_INTEGER[base]})::{column.sql_type}" if not unique else f"{g}::{column.sql_type}"
    numeric = _NUMERIC_TYPMOD.search(column.sql_type)
    if base == "numeric":
        if numeric:
            precision, scale = int(numeric.group(1)), int(numeric.group(2))
            digits = precision - scale
            if digits <= 0:
                return f"(({g} % 10)::numeric / 10 ^ {scale + 1})::{column.sql_type}"
            return f"(({g} % {10 ** min(digits, 15)}) + 0.5)::{column.sql_type}"
        return f"({g} + 0.5)::numeric"
    if base in ("float4", "float8"):
        return f"({g} + 0.5)::{column.sql_type}"
    if base in ("text", "varchar", "bpchar", "name", "citext"):
        length = _LENGTH.search(column.sql_type)
        limit = int(length.group(1)) if length else 0
        text = f"('v' || {g})"
        if base == "bpchar" and limit and limit < 8:
            text = f"pg_catalog.lpad(({g} % {10 ** limit})::text, {limit}, '0')"
        elif limit:
            text = f"pg_catalog.right('v' || {g}, {limit})"
        return f"{text}::{column.sql_type}"
    if base == "bool":
        return f"({g} % 2 = 0)"
    if base in ("timestamptz", "timestamp"):
        return f"(timestamptz '2024-01-01 00:00:00+00' + {g} * interval '1 second')::{column.sql_type}"
    if base == "date":
        return f"(date '2000-01-01' + ({g} % 30000)::integer)" if not unique else f"(date '2000-01-01' + {g}::integer)"
    if base in ("time", "timetz"):
        return f"(time '00:00' + ({g} % 86400) * interval '1 second')::{column.sql_type}"
    if base == "interval":
        return f"({g} * interval '1 second')"
    if base == "uuid":
        return f"pg_catalog.md5({g}::text)::uuid"
    if base in ("json", "jsonb"):
        return f"pg_catalog.json_build_object('n', {g})::{column.sql_type}"
    if base == "bytea":
        return f"pg_catalog.convert_to({g}::text, 'UTF8')"
    if base == "inet":
        return f"('10.0.0.0'::inet + {g})"
    return None


class Filler:
    """Fills tables on the migrator's connection, each once per run."""

    def __init__(self, conn: Any, rows_for: Callable[[str], int], tenants: int, tenant_column: str,
                 note: Callable[[str, int, int], None] | None = None) -> None:
        self.conn = conn
        self.rows_for = rows_for
        self.tenants = max(1, tenants)
        self.tenant_column = tenant_column
        self.note = note
        self.done = Filled()
        self._busy: set[str] = set()

    def fill(self, tables: list[str]) -> list[str]:
        """Fill each table not filled yet (referenced tables first); one line per table left empty."""
        problems: list[str] = []
        for table in tables:
            problems.extend(self._fill(table))
        return problems

    def insert_probe_sql(self, table: str) -> str | None:
        """One synthetic row for the concurrent probe's write (a row number far past the filled ones)."""
        select = self._select(table, "1", "1", beyond=True)
        if select is None:
            return None
        columns, body = select
        return f"INSERT INTO {table} ({columns}) {body}" if columns else f"INSERT INTO {table} DEFAULT VALUES"

    def insert_rows_sql(self, table: str, count: int) -> str | None:
        """``count`` synthetic rows past the filled ones (verify's write measurement), or None."""
        select = self._select(table, "1", str(count), beyond=True)
        if select is None:
            return None
        columns, body = select
        return f"INSERT INTO {table} ({columns}) {body}" if columns else None

    def _fill(self, table: str, registry: bool = False) -> list[str]:
        import psycopg

        if table in self.done.rows or table in self.done.failed or table in self._busy:
            return []
        self._busy.add(table)
        problems: list[str] = []
        for _name, columns, referenced, _ref_columns in self.conn.execute(FOREIGN_KEYS, (table,)).fetchall():
            if referenced != table:
                # the table a tenant column references is the tenant registry: one row per tenant
                problems.extend(self._fill(referenced, registry=self.tenant_column in columns))
        count = min(self.tenants, self.rows_for(table)) if registry else self.rows_for(table)
        if count <= 0:
            return problems
        existing = self.conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1) s").fetchone()
        if existing and existing[0]:
            self.done.rows[table] = 0  # it has rows already (the migrations inserted some): kept as they are
            return problems
        if self.note is not None:
            self.note(table, 0, count)
        import time

        started = time.perf_counter()
        error: str | None = None
        for nulls in (False, True):  # then again with every nullable column NULL (satisfies most CHECKs)
            select = self._select(table, "1", str(count), nullable_null=nulls)
            if select is None:
                error = "a column type schemalint cannot generate values for"
                break
            columns, body = select
            sql = f"INSERT INTO {table} ({columns}) {body}" if columns else None
            try:
                if sql is None:
                    self.conn.execute(f"INSERT INTO {table} SELECT FROM pg_catalog.generate_series(1, {count})")
                else:
                    self.conn.execute(sql)
                self.conn.execute(f"ANALYZE {table}")
                error = None
                break
            except psycopg.Error as exc:
                error = clip((exc.diag.message_primary or str(exc)).strip())
        if error is not None:
            self.done.failed[table] = error
            problems.append(f"{table}: left empty, cannot generate rows for it ({error})")
        else:
            self.done.rows[table] = count
            self.done.seconds[table] = time.perf_counter() - started
            if self.note is not None:
                self.note(table, count, count)
        return problems

    def _select(self, table: str, first: str, last: str, nullable_null: bool = False,
                beyond: bool = False) -> tuple[str, str] | None:
        """(column list, SELECT … FROM generate_series …) producing the rows."""
        columns = [Column(*row) for row in self.conn.execute(COLUMNS, (table,)).fetchall()]
        unique = {str(r[0]) for r in self.conn.execute(UNIQUE_COLUMNS, (table,)).fetchall()}
        keys = self.conn.execute(FOREIGN_KEYS, (table,)).fetchall()
        g = "(g + 1000000000)" if beyond else "g"
        joins: list[str] = []
        from_fk: dict[str, str] = {}
        for number, (_name, fk_columns, referenced, ref_columns) in enumerate(keys):
            alias = f"r{number}"
            total = self.done.rows.get(referenced, 0)
            if referenced == table or not total:
                continue  # self-references and empty referenced tables: NULL (or the column's default)
            ref_list = ", ".join(quote(c) for c in ref_columns)
            joins.append(f"JOIN (SELECT {ref_list}, pg_catalog.row_number() OVER () AS rn FROM {referenced}) {alias} "
                         f"ON {alias}.rn = 1 + ({g} % {total})")
            for own, ref in zip(fk_columns, ref_columns, strict=False):
                from_fk[str(own)] = f"{alias}.{quote(ref)}"
        names: list[str] = []
        values: list[str] = []
        for column in columns:
            if column.identity == "a" or column.generated:
                continue  # GENERATED ALWAYS: PostgreSQL writes it
            if column.name in from_fk:
                names.append(quote(column.name))
                values.append(from_fk[column.name])
                continue
            if column.has_default or column.identity == "d":
                continue  # its default (a sequence, now(), a constant) is what the application gets too
            if column.name == self.tenant_column and column.base in _INTEGER and column.name not in unique:
                names.append(quote(column.name))
                values.append(f"(1 + {g} % {self.tenants})::{column.sql_type}")
                continue
            if nullable_null and not column.not_null:
                continue
            expression = value_expression(column, column.name in unique, g)
            if expression is None:
                if column.not_null:
                    return None
                continue
            names.append(quote(column.name))
            values.append(expression)
        body = (f"SELECT {', '.join(values)} FROM pg_catalog.generate_series({first}, {last}) AS s(g) "
                + " ".join(joins))
        return ", ".join(names), body
