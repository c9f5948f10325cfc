"""The recipe engine: an intent ("add column c to t with this definition", "add a foreign key", "make c
NOT NULL", …) turned into the safe statements, the transaction structure they need and the exact rollback, in
reverse order. The generator (``schemalint new``, :mod:`schemalint.authoring.generator`), ``--fix`` and the rules' help
texts all call it, so each safe pattern is written once.

Safe means: ``SET lock_timeout`` first; a CHECK or a foreign key is added ``NOT VALID`` and validated in its own
transaction (SHARE UPDATE EXCLUSIVE: reads and writes go on); ``SET NOT NULL`` is proven by a validated
``CHECK (c IS NOT NULL)`` first (PG12+: no scan); a unique constraint is a ``CREATE UNIQUE INDEX CONCURRENTLY``
taken over with ``USING INDEX``; an index is built ``CONCURRENTLY``, outside any transaction block; a new
table gets the tenant column, row-level security and a policy."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pglast
from pglast.enums import ConstrType
from pglast.stream import RawStream

from schemalint.config import Settings
from schemalint.model.schema import SchemaModel
from schemalint.model.volatility import VOLATILE, expression_volatility
from schemalint.sql.names import QName, display, qualify, quote_ident
from schemalint.sql.parse import parse
from schemalint.sql.scan import split_top_level


class RecipeError(ValueError):
    """An intent that cannot be made safe (or does not parse): the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Step:
    sql: str  # one statement, ending with ';'
    note: str = ""  # a comment for the reader: what the step does, what it locks
    outside_transaction: bool = False  # PostgreSQL refuses it in a transaction block (CONCURRENTLY)
    own_transaction: bool = False  # must not share a transaction with the step before (VALIDATE)


@dataclass(slots=True)
class Recipe:
    title: str
    steps: list[Step] = field(default_factory=list)
    rollback: list[Step] = field(default_factory=list)  # in the order to run them (reverse of the steps)
    naive: list[str] = field(default_factory=list)  # the unsafe one-liner this replaces (for Risk Assessment)

    @property
    def needs_autocommit(self) -> bool:
        """Some step cannot share a transaction with the others: the file must not run as one transaction."""
        return any(s.outside_transaction or s.own_transaction for s in self.steps)


def _sql(node: Any) -> str:
    return str(RawStream()(node))


def _name(prefix: str, table: str, *parts: str) -> str:
    return f"{prefix}{table}_{'_'.join(parts)}"[:63].rstrip("_")


class RecipeEngine:
    """Safe statements for intents, with the project's conventions (names, tenant column, lock_timeout) and,
    when given, the schema model of the history (the tenant registry's key type, existing tables)."""

    def __init__(self, settings: Settings | None = None, model: SchemaModel | None = None,
                 lock_timeout: str = "5s") -> None:
        self.settings = settings or Settings()
        self.model = model
        self.lock_timeout = lock_timeout

    # --- names ---------------------------------------------------------------------------------
    def qname(self, table: str) -> QName:
        parts = [p.strip('"') if p.startswith('"') else p.lower() for p in _split_name(table)]
        if not parts or not all(parts):
            raise RecipeError(f"{table!r} is not a table name")
        return qualify(parts, self.settings.default_schema)

    def table_sql(self, table: QName) -> str:
        return display(table, self.settings.default_schema)

    def lock_timeout_step(self) -> Step:
        return Step(f"SET lock_timeout = '{self.lock_timeout}';",
                    "give up instead of queueing every query behind a lock we wait for")

    # --- intents -------------------------------------------------------------------------------
    def add_column(self, table: str, column: str, definition: str, pg_names: bool = False) -> Recipe:
        """ADD COLUMN with the definition's inline CHECK, REFERENCES and UNIQUE split into their safe forms.
        ``pg_names``: name the split-out constraints as PostgreSQL names inline ones (a fix must leave the
        schema as the original statement would), not by the project's conventions."""
        name = self.qname(table)
        t = self.table_sql(name)
        col = quote_ident(column)
        try:
            tree = pglast.parse_sql(f"ALTER TABLE {t} ADD COLUMN {col} {definition}")
        except pglast.parser.ParseError as exc:
            raise RecipeError(f"column definition {definition!r} does not parse: {exc}") from None
        statement: Any = tree[0].stmt
        coldef = statement.cmds[0].def_
        type_sql = _sql(coldef.typeName)
        recipe = Recipe(f"Add column {column} to {t}",
                        naive=[f"ALTER TABLE {t} ADD COLUMN {col} {definition};"])
        default_sql: str | None = None
        not_null = False
        later: list[Step] = []
        for con in coldef.constraints or ():
            kind = con.contype
            if kind == ConstrType.CONSTR_DEFAULT:
                default_sql = _sql(con.raw_expr)
            elif kind == ConstrType.CONSTR_NOTNULL:
                not_null = True
            elif kind == ConstrType.CONSTR_NULL:
                continue
            elif kind == ConstrType.CONSTR_CHECK:
                check = quote_ident(con.conname or (f"{name[1]}_{column}_check"[:63] if pg_names
                                                    else _name("chk_", name[1], column)))
                later += self.not_valid(t, f"CONSTRAINT {check} CHECK ({_sql(con.raw_expr)})", check)
            elif kind == ConstrType.CONSTR_FOREIGN:
                ref = _sql(con.pktable)
                ref_cols = ", ".join(quote_ident(a.sval) for a in con.pk_attrs or ())
                fk = quote_ident(con.conname or (f"{name[1]}_{column}_fkey"[:63] if pg_names
                                                 else _name("fk_", name[1], column)))
                actions = _fk_actions(con)
                target = f"{ref} ({ref_cols})" if ref_cols else ref
                later += self.not_valid(t, f"CONSTRAINT {fk} FOREIGN KEY ({col}) REFERENCES {target}{actions}", fk)
                later += self.create_index(table, column).steps
            elif kind in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY):
                later += self.add_unique(table, [column], con.conname, primary=kind == ConstrType.CONSTR_PRIMARY).steps
            else:
                raise RecipeError(f"{kind.name.removeprefix('CONSTR_')} in a new column's definition has no safe "
                                  f"recipe here: add the column first, then the {kind.name.removeprefix('CONSTR_')}")
        volatile = default_sql is not None and self._volatile(default_sql)
        if not_null and (default_sql is None or volatile):
            raise RecipeError(
                f"ADD COLUMN {column} … NOT NULL without a constant default fails on a table with rows (and breaks "
                f"inserts that omit it). Either give it a default (… {type_sql} NOT NULL DEFAULT <value>, no rewrite "
                f"on PG11+), or add it nullable, backfill it in batches outside the migration, then make it NOT NULL "
                f"with --set-not-null {table}.{column}")
        columns = f"{col} {type_sql}"
        if default_sql is not None and not volatile:
            columns += f" DEFAULT {default_sql}"  # PG11+: a non-volatile default is a metadata-only change
        if not_null:
            columns += " NOT NULL"
        # what takes ACCESS EXCLUSIVE anyway goes into the one ALTER TABLE, so the table is locked once (SL126):
        # the volatile default (new rows only) and each CHECK … NOT VALID; their VALIDATE stays a later step
        subcommands = [f"ADD COLUMN {columns}"]
        notes = ["brief ACCESS EXCLUSIVE lock, no rewrite"]
        if volatile:
            subcommands.append(f"ALTER COLUMN {col} SET DEFAULT {default_sql}")
            notes.append("the default for new rows only; backfill existing rows in batches outside the migration")
        while later and later[0].sql.startswith(f"ALTER TABLE {t} ADD CONSTRAINT ") and " CHECK (" in later[0].sql:
            step = later.pop(0)
            subcommands.append(step.sql.removeprefix(f"ALTER TABLE {t} ").removesuffix(";"))
            notes.append(step.note.removeprefix("brief lock; "))
        recipe.steps.append(Step(f"ALTER TABLE {t} " + ",\n    ".join(subcommands) + ";", "; ".join(notes)))
        recipe.steps.extend(later)
        recipe.rollback.append(Step(f"ALTER TABLE {t} DROP COLUMN IF EXISTS {col};",
                                    "drops its constraints and indexes with it"))
        return recipe

    def add_foreign_key(self, table: str, columns: list[str], ref_table: str, ref_columns: list[str],
                        name: str | None = None, index: bool = True) -> Recipe:
        qn = self.qname(table)
        t = self.table_sql(qn)
        cols = ", ".join(quote_ident(c) for c in columns)
        ref = self.table_sql(self.qname(ref_table))
        refs = ", ".join(quote_ident(c) for c in ref_columns)
        fk = quote_ident(name or _name("fk_", qn[1], *columns))
        body = f"CONSTRAINT {fk} FOREIGN KEY ({cols}) REFERENCES {ref} ({refs})"
        recipe = Recipe(f"Add foreign key {fk} on {t}", naive=[f"ALTER TABLE {t} ADD {body};"])
        recipe.steps += self.not_valid(t, body, fk)
        if index:
            created = self.create_index(table, cols)
            recipe.steps += created.steps
            recipe.rollback += created.rollback
        recipe.rollback.insert(0, Step(f"ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {fk};"))
        return recipe

    def add_check(self, table: str, expression: str, name: str | None = None) -> Recipe:
        qn = self.qname(table)
        t = self.table_sql(qn)
        try:
            pglast.parse_sql(f"SELECT ({expression})")
        except pglast.parser.ParseError as exc:
            raise RecipeError(f"check expression {expression!r} does not parse: {exc}") from None
        words = [w for w in re.findall(r"[a-z_][a-z0-9_]*", expression.lower()) if w not in _SQL_WORDS][:2]
        chk = quote_ident(name or _name("chk_", qn[1], *(words or ["check"])))
        body = f"CONSTRAINT {chk} CHECK ({expression})"
        recipe = Recipe(f"Add check {chk} on {t}", naive=[f"ALTER TABLE {t} ADD {body};"])
        recipe.steps += self.not_valid(t, body, chk)
        recipe.rollback.append(Step(f"ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {chk};"))
        return recipe

    def set_not_null(self, table: str, column: str) -> Recipe:
        """PG12+: a validated CHECK (c IS NOT NULL) lets SET NOT NULL skip its full scan."""
        qn = self.qname(table)
        t = self.table_sql(qn)
        col = quote_ident(column)
        chk = quote_ident(_name("chk_", qn[1], column, "not_null"))
        recipe = Recipe(f"Make {t}.{col} NOT NULL", naive=[f"ALTER TABLE {t} ALTER COLUMN {col} SET NOT NULL;"])
        recipe.steps += self.not_valid(t, f"CONSTRAINT {chk} CHECK ({col} IS NOT NULL)", chk)
        recipe.steps.append(Step(f"ALTER TABLE {t} ALTER COLUMN {col} SET NOT NULL;",
                                 "proven by the check: no scan (PG12+)", own_transaction=True))
        recipe.steps.append(Step(f"ALTER TABLE {t} DROP CONSTRAINT {chk};", "redundant now"))
        recipe.rollback.append(Step(f"ALTER TABLE {t} ALTER COLUMN {col} DROP NOT NULL;"))
        return recipe

    def add_unique(self, table: str, columns: list[str], name: str | None = None, primary: bool = False) -> Recipe:
        qn = self.qname(table)
        t = self.table_sql(qn)
        cols = ", ".join(quote_ident(c) for c in columns)
        prefix = "pk_" if primary else (self._unique_prefix())
        constraint = quote_ident(name or _name(prefix, qn[1], *columns))
        kind = "PRIMARY KEY" if primary else "UNIQUE"
        recipe = Recipe(f"Add {kind.lower()} {constraint} on {t}",
                        naive=[f"ALTER TABLE {t} ADD CONSTRAINT {constraint} {kind} ({cols});"])
        recipe.steps.append(Step(f"CREATE UNIQUE INDEX CONCURRENTLY {constraint} ON {t} ({cols});",
                                 "builds without blocking writes", outside_transaction=True))
        recipe.steps.append(Step(f"ALTER TABLE {t} ADD CONSTRAINT {constraint} {kind} USING INDEX {constraint};",
                                 "takes the index over: a brief lock, no scan", own_transaction=True))
        recipe.rollback.append(Step(f"ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {constraint};"))
        return recipe

    def create_index(self, table: str, columns: str, unique: bool = False, name: str | None = None,
                     where: str | None = None) -> Recipe:
        qn = self.qname(table)
        t = self.table_sql(qn)
        words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", columns.lower())
        prefix = self._unique_prefix() if unique else "idx_"
        index = quote_ident(name or _name(prefix, qn[1], *(words[:3] or ["expr"])))
        predicate = f" WHERE {where}" if where else ""
        sql = f"CREATE {'UNIQUE ' if unique else ''}INDEX CONCURRENTLY IF NOT EXISTS {index} ON {t} ({columns}){predicate};"
        try:
            pglast.parse_sql(sql)
        except pglast.parser.ParseError as exc:
            raise RecipeError(f"index on {table}({columns}) does not parse: {exc}") from None
        schema = f"{quote_ident(qn[0])}." if qn[0] != self.settings.default_schema else ""
        return Recipe(f"Create index {index} on {t}",
                      [Step(sql, "builds without blocking writes, outside any transaction block",
                            outside_transaction=True)],
                      [Step(f"DROP INDEX CONCURRENTLY IF EXISTS {schema}{index};", outside_transaction=True)],
                      naive=[sql.replace(" CONCURRENTLY", "")])

    def create_table(self, table: str, column_defs: str) -> Recipe:
        """A new table with the tenant column, row-level security and a policy (unless the table is exempt),
        the audit columns, a primary key, and an index for each foreign key."""
        qn = self.qname(table)
        t = self.table_sql(qn)
        try:
            tree = pglast.parse_sql(f"CREATE TABLE {t} ({column_defs})")
        except pglast.parser.ParseError as exc:
            raise RecipeError(f"column definitions {column_defs!r} do not parse: {exc}") from None
        created: Any = tree[0].stmt
        elements = created.tableElts or ()
        names = [e.colname for e in elements if hasattr(e, "colname")]
        has_pk = any(_declares_primary_key(e) for e in elements)
        tenancy = self.settings.option("tenancy", "column")
        exempt = self.settings.tenant_exempt(qn)
        extra: list[str] = []
        if not has_pk:
            extra.append(f"{quote_ident(qn[1] + '_id')} bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
        tenant_type = None
        if not exempt and tenancy not in names:
            registry, key, tenant_type = self._tenant_registry()
            extra.append(f"{quote_ident(tenancy)} {tenant_type} NOT NULL REFERENCES {registry} ({quote_ident(key)})")
        for audit in self.settings.option("conventions", "audit-columns"):
            if audit not in names:
                extra.append(f"{quote_ident(audit)} timestamptz NOT NULL DEFAULT now()")
        user_columns = [d for d in split_top_level(column_defs) if not _is_table_constraint(d)]
        user_constraints = [d for d in split_top_level(column_defs) if _is_table_constraint(d)]
        first = [e for e in extra if not e.endswith("DEFAULT now()")]
        audit = [e for e in extra if e.endswith("DEFAULT now()")]
        body = ",\n    ".join([*first, *user_columns, *audit, *user_constraints])
        recipe = Recipe(f"Create table {t}", naive=[f"CREATE TABLE {t} ({column_defs});"])
        recipe.steps.append(Step(f"CREATE TABLE {t} (\n    {body}\n);"))
        fk_columns = [e.colname for e in elements if hasattr(e, "colname") and _references(e)]
        if not exempt and tenancy not in names:
            fk_columns.insert(0, tenancy)
        for column in fk_columns:
            recipe.steps.append(Step(f"CREATE INDEX {quote_ident(_name('idx_', qn[1], column))} ON {t} "
                                     f"({quote_ident(column)});", "a new table is empty: no CONCURRENTLY needed"))
        if not exempt:
            tenant_type = tenant_type or self._column_type_text(elements, tenancy) or "integer"
            setting = self.settings.option("tenancy", "setting")
            condition = f"{quote_ident(tenancy)} = current_setting('{setting}')::{tenant_type}"
            recipe.steps.append(Step(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY;"))
            policy = quote_ident(f"tenant_isolation_{qn[1]}"[:63])
            recipe.steps.append(Step(f"CREATE POLICY {policy} ON {t}\n    FOR ALL USING ({condition})\n"
                                     f"    WITH CHECK ({condition});"))
        recipe.rollback.append(Step(f"DROP TABLE IF EXISTS {t};"))
        return recipe

    def partitioned_index(self, parent_sql: str, index: str, unique: bool, body: str,
                          partitions: list[tuple[str, str]]) -> list[Step]:
        """An index on a partitioned table without blocking writes (PostgreSQL rejects CONCURRENTLY there): an
        index on the parent alone (invalid until complete), one built concurrently on each partition, each
        attached; the parent's index becomes valid with the last attach (checked on PostgreSQL 15).
        ``partitions``: (partition SQL name, its index's name); ``body``: what follows the table in the user's
        statement (``(col) WHERE …``)."""
        create = f"CREATE {'UNIQUE ' if unique else ''}INDEX"
        steps = [Step(f"{create} {quote_ident(index)} ON ONLY {parent_sql} {body};",
                      "builds nothing: the parent's index stays invalid until every partition's is attached")]
        for partition, partition_index in partitions:
            steps.append(Step(f"{create} CONCURRENTLY {quote_ident(partition_index)} ON {partition} {body};",
                              "SHARE UPDATE EXCLUSIVE: reads and writes go on", outside_transaction=True))
        for _, partition_index in partitions:
            steps.append(Step(f"ALTER INDEX {quote_ident(index)} ATTACH PARTITION {quote_ident(partition_index)};"))
        return steps

    # --- helpers --------------------------------------------------------------------------------
    def not_valid(self, table_sql: str, constraint_sql: str, name: str) -> list[Step]:
        return [Step(f"ALTER TABLE {table_sql} ADD {constraint_sql} NOT VALID;",
                     "brief lock; new and updated rows are checked from now on"),
                Step(f"ALTER TABLE {table_sql} VALIDATE CONSTRAINT {name};",
                     "checks the existing rows under SHARE UPDATE EXCLUSIVE: reads and writes go on",
                     own_transaction=True)]

    def _unique_prefix(self) -> str:
        pattern = str(self.settings.option("conventions", "unique-pattern"))
        match = re.match(r"^\^\(?([a-z]+)", pattern)
        return f"{match.group(1)}_" if match else "uk_"

    def _volatile(self, default_sql: str) -> bool:
        parsed = parse(f"SELECT {default_sql}")
        if not parsed.statements:
            return False
        target = parsed.statements[0].node.get("targetList") or [{}]
        expr = target[0].get("ResTarget", {}).get("val")
        return expression_volatility(expr, self.model or SchemaModel()).level == VOLATILE

    def _tenant_registry(self) -> tuple[str, str, str]:
        """(registry table, its key, the key's type): from the history when it knows the registry, else the
        guide's tenant_metadata(tenant_id integer)."""
        tenancy = str(self.settings.option("tenancy", "column"))
        registry = str(self.settings.option("tenancy", "registry"))
        qn = self.qname(registry)
        known = self.model.table(qn) if self.model is not None else None
        if known is not None:
            primary = next((c for c in known.constraints.values() if c.kind == "PRIMARY"), None)
            key = primary.columns[0] if primary is not None and len(primary.columns) == 1 else tenancy
            column = known.columns.get(key)
            if column is not None and column.type is not None:
                return self.table_sql(qn), key, str(column.type)
        return self.table_sql(qn), tenancy, "integer"

    @staticmethod
    def _column_type_text(elements: Any, column: str) -> str | None:
        for e in elements:
            if getattr(e, "colname", None) == column and e.typeName is not None:
                return _sql(e.typeName)
        return None


_SQL_WORDS = frozenset(("and", "or", "not", "between", "in", "is", "null", "true", "false", "like", "ilike",
                        "any", "all", "case", "when", "then", "else", "end", "cast", "as"))


def _split_name(text: str) -> list[str]:
    return [p for p in re.findall(r'"(?:[^"]|"")*"|[^."\s]+', text.strip())]


def _is_table_constraint(definition: str) -> bool:
    return bool(re.match(r"(?i)(CONSTRAINT|PRIMARY\s+KEY|UNIQUE|CHECK|FOREIGN\s+KEY|EXCLUDE)\b", definition))


def _declares_primary_key(element: Any) -> bool:
    if getattr(element, "contype", None) == ConstrType.CONSTR_PRIMARY:
        return True
    return any(c.contype == ConstrType.CONSTR_PRIMARY for c in getattr(element, "constraints", None) or ())


def _references(element: Any) -> bool:
    return any(c.contype == ConstrType.CONSTR_FOREIGN for c in getattr(element, "constraints", None) or ())


def _fk_actions(con: Any) -> str:
    words = {"c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT", "r": "RESTRICT"}
    out = ""
    if con.fk_del_action in words:
        out += f" ON DELETE {words[con.fk_del_action]}"
    if con.fk_upd_action in words:
        out += f" ON UPDATE {words[con.fk_upd_action]}"
    return out
