"""The guide's migration generator: ``schemalint new`` and the Python API the guide shows.

    from schemalint.authoring.generator import MigrationGenerator
    generator = MigrationGenerator()                # reads the project's config like the CLI
    migration = generator.create_migration(title="Add Customer Health Score to Accounts",
        description="Add customer_health_score field for account analytics", author="Your Name")
    generator.add_add_column_step(migration, table_name="accounts", column_name="customer_health_score",
        column_definition="DECIMAL(3,2) DEFAULT 0.75 CHECK (customer_health_score BETWEEN 0 AND 1)")
    generator.save_migration(migration)             # returns the path written

Every step comes from the recipe engine (:mod:`schemalint.authoring.recipe`), so the file holds the safe form, the
guide's header (its Risk Assessment judged from what the unsafe one-liners would have raised) and the exact
rollback; it never overwrites a file."""

from __future__ import annotations

import datetime as _dt
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from schemalint.authoring.recipe import Recipe, RecipeEngine, RecipeError
from schemalint.config import Settings, find_config, load_settings
from schemalint.engine import Engine, prepare
from schemalint.model.schema import SchemaModel
from schemalint.patterns import search
from schemalint.run import enabled_codes
from schemalint.sources import runners
from schemalint.sources.files import SourceError, SourceFile, collect, read_bytes

RULE = "=" * 53
# Risk Assessment, judged from the findings the unsafe one-liners the steps replace would raise:
# high: it would break the running application or rewrite a table; medium: a lock held for a scan or a build.
_HIGH = ("SL101", "SL110", "SL111", "SL112", "SL2")
# Runners that wrap each file in a transaction, and how a file opts out (steps that must run outside one)
_OPT_OUT = {"goose": "-- +goose NO TRANSACTION", "sqlx": "-- no-transaction"}


class GeneratorError(ValueError):
    """A step that cannot be written: one line saying why; nothing is written."""


@dataclass(slots=True)
class Migration:
    title: str
    description: str = ""
    author: str = ""
    created: _dt.datetime = field(default_factory=lambda: _dt.datetime.now().replace(microsecond=0))
    risk: str | None = None  # low, medium, high; None: judged from the steps
    steps: list[Recipe] = field(default_factory=list)

    @property
    def version(self) -> str:
        return self.created.strftime("%Y%m%d_%H%M%S")

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "_", self.title.lower()).strip("_")[:80] or "migration"


class MigrationGenerator:
    """Writes safe migrations for the project (config searched from ``start`` upwards, like the CLI)."""

    def __init__(self, migrations_dir: str | Path | None = None, config: str | Path | None = None,
                 start: str | Path | None = None) -> None:
        base = Path(start) if start is not None else Path.cwd()
        config_path = Path(config) if config is not None else find_config(base)
        self.settings: Settings = load_settings(config_path)
        self.directory = self._directory(migrations_dir, base)
        self.model, self.history_files = self._history()
        self.engine = RecipeEngine(self.settings, self.model, str(self.settings.option("locks", "lock-timeout")))

    # --- the guide's API -------------------------------------------------------------------------
    def create_migration(self, title: str, description: str = "", author: str | None = None,
                         risk: str | None = None) -> Migration:
        if not title.strip():
            raise GeneratorError("a migration needs a title")
        if risk is not None and risk not in ("low", "medium", "high"):
            raise GeneratorError(f"--risk {risk!r}: use low, medium or high")
        return Migration(title.strip(), description.strip(), author or _git_user() or os.environ.get("USER", ""),
                         risk=risk)

    def add_add_column_step(self, migration: Migration, table_name: str, column_name: str,
                            column_definition: str) -> Recipe:
        self._known(migration, table_name)
        return self._add(migration, lambda: self.engine.add_column(table_name, column_name, column_definition))

    def add_create_index_step(self, migration: Migration, table_name: str, columns: str, unique: bool = False,
                              index_name: str | None = None, where: str | None = None) -> Recipe:
        self._known(migration, table_name)
        return self._add(migration, lambda: self.engine.create_index(table_name, columns, unique, index_name, where))

    def add_foreign_key_step(self, migration: Migration, table_name: str, columns: list[str], ref_table: str,
                             ref_columns: list[str], constraint_name: str | None = None) -> Recipe:
        self._known(migration, table_name)
        self._known(migration, ref_table)
        return self._add(migration, lambda: self.engine.add_foreign_key(table_name, columns, ref_table, ref_columns,
                                                                         constraint_name))

    def add_check_constraint_step(self, migration: Migration, table_name: str, expression: str,
                                  constraint_name: str | None = None) -> Recipe:
        self._known(migration, table_name)
        return self._add(migration, lambda: self.engine.add_check(table_name, expression, constraint_name))

    def add_set_not_null_step(self, migration: Migration, table_name: str, column_name: str) -> Recipe:
        self._known(migration, table_name)
        return self._add(migration, lambda: self.engine.set_not_null(table_name, column_name))

    def add_create_table_step(self, migration: Migration, table_name: str, column_definitions: str) -> Recipe:
        return self._add(migration, lambda: self.engine.create_table(table_name, column_definitions))

    def render(self, migration: Migration) -> str:
        """The migration file's text: header, UP section, DOWN section (in the runner's layout)."""
        runner = self._runner()
        autocommit = any(step.needs_autocommit for step in migration.steps)
        up: list[str] = [f"{self.engine.lock_timeout_step().sql}", ""]
        for number, recipe in enumerate(migration.steps, 1):
            up.append(f"-- Step {number}: {recipe.title}")
            for step in recipe.steps:
                if step.note:
                    up.append(f"-- {step.note}")
                up.append(step.sql)
            up.append("")
        down: list[str] = []
        for number, recipe in reversed(list(enumerate(migration.steps, 1))):
            down.append(f"-- Rollback Step {number}: {recipe.title}")
            down.extend(step.sql for step in recipe.rollback)
            down.append("")
        header = [
            f"-- {RULE}", f"-- MIGRATION: {migration.title}", f"-- Version: v{migration.version}",
            f"-- Author: {migration.author or 'unknown'}", f"-- Risk Assessment: {self.risk(migration)}",
            f"-- Estimated Duration: {self._duration(migration)}", f"-- {RULE}", "",
        ]
        if migration.description:
            header += [f"-- Description: {migration.description}", ""]
        if runner not in (None, "psql", "dbmate", "goose", "sqlx") and autocommit:
            raise GeneratorError(f"runner {runner} runs each file in one transaction and some of these steps must not "
                                 f"share one (CONCURRENTLY, VALIDATE): split them into separate migrations")
        first: list[str] = []
        if runner == "dbmate":
            marker = " transaction:false" if autocommit else ""
            body = [f"-- migrate:up{marker}", "", *up, f"-- migrate:down{marker}", "", *down]
        elif runner == "goose":
            body = [*([_OPT_OUT["goose"]] if autocommit else []), "-- +goose Up", "", *up, "-- +goose Down", "",
                    *down]
        else:
            if runner == "sqlx" and autocommit:
                first = [_OPT_OUT["sqlx"]]  # sqlx reads it on the file's first line only
            body = [f"-- {RULE}", "-- UP MIGRATION", f"-- {RULE}", "", *up,
                    f"-- {RULE}", "-- DOWN MIGRATION (ROLLBACK)", f"-- {RULE}", "", "/*", *down, "*/"]
        return "\n".join(first + header + body).rstrip() + "\n"

    def save_migration(self, migration: Migration) -> Path:
        """Write the file (never over an existing one) and return its path."""
        if not migration.steps:
            raise GeneratorError("the migration has no steps")
        text = self.render(migration)
        path = self.directory / self.filename(migration)
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            with open(path, "x", encoding="utf-8") as handle:  # "x": fails if it exists, never overwrites
                handle.write(text)
        except FileExistsError:
            raise GeneratorError(f"{path} already exists: nothing was written") from None
        return path

    # --- what the file says ----------------------------------------------------------------------
    def filename(self, migration: Migration) -> str:
        pattern = str(self.settings.option("migration-file", "filename-pattern"))
        stamp = migration.created
        candidates = [f"{migration.version}_{migration.slug}.sql", f"{stamp:%Y%m%d%H%M%S}_{migration.slug}.sql",
                      f"V{stamp:%Y%m%d%H%M%S}__{migration.slug}.sql"]
        for name in candidates:
            if search(pattern, name):
                return name
        return candidates[0]

    def risk(self, migration: Migration) -> str:
        """low / medium / high from the findings the steps' unsafe one-liners would raise (documented in the
        README: high = would break the running application or rewrite a table, medium = another lock held
        for a scan or build)."""
        if migration.risk:
            return migration.risk
        codes = self._naive_findings(migration)
        if any(code.startswith(_HIGH) for code in codes):
            return "high"
        if any(code.startswith("SL1") for code in codes):
            return "medium"
        return "low"

    def _duration(self, migration: Migration) -> str:
        slow = any(s.outside_transaction or s.own_transaction for r in migration.steps for s in r.steps)
        return ("< 1 minute (plus index builds and validations that do not block, and grow with the table)"
                if slow else "< 1 minute")

    def _naive_findings(self, migration: Migration) -> list[str]:
        naive = "\n".join(sql for recipe in migration.steps for sql in recipe.naive)
        settings = load_settings(None)
        settings.select = ["SL1", "SL2"]
        engine = Engine(settings, enabled_codes(settings))
        for source in self.history_files:
            engine.replay(prepare(source))
        findings, _ = engine.lint_file(prepare(SourceFile("naive.sql", None, data=naive.encode("utf-8"))))
        return [f.code for f in findings if f.code not in ("SL114",)]

    # --- helpers ---------------------------------------------------------------------------------
    def _add(self, migration: Migration, make: Callable[[], Recipe]) -> Recipe:
        try:
            recipe = make()
        except RecipeError as exc:
            raise GeneratorError(str(exc)) from None
        migration.steps.append(recipe)
        return recipe

    def _known(self, migration: Migration, table: str) -> None:
        """A step on a table the history does not know (when it knows some) is a typo, not a new table."""
        if not self.model.tables:
            return
        try:
            name = self.engine.qname(table)
        except RecipeError as exc:
            raise GeneratorError(str(exc)) from None
        created = {self.engine.qname(r.title.removeprefix("Create table ")) for r in migration.steps
                   if r.title.startswith("Create table ")}
        if name not in self.model.tables and name not in created:
            raise GeneratorError(f"table {table!r} does not exist in the migration history of {self.directory}")

    def _runner(self) -> str | None:
        if self.settings.runner:
            return self.settings.runner
        return self.detected_runner

    def _directory(self, explicit: str | Path | None, base: Path) -> Path:
        if explicit is not None:
            return Path(explicit)
        configured = self.settings.option("migration-file", "migrations-dir")
        if configured:
            root = self.settings.source.parent if self.settings.source is not None else base
            return root / str(configured)
        try:
            found = collect([str(base)], self.settings.include, self.settings.exclude)
        except SourceError:
            found = []
        forward = [f for f in found if f.role == "up" and f.path is not None]
        if forward:
            assert forward[-1].path is not None
            return forward[-1].path.parent  # the folder of the newest migration, in migration order
        return base / "migrations"

    def _history(self) -> tuple[SchemaModel, list[SourceFile]]:
        engine = Engine(self.settings, set())
        self.detected_runner: str | None = None
        if not self.directory.is_dir():
            return engine.model, []
        try:
            files = collect([str(self.directory)], self.settings.include, self.settings.exclude)
        except SourceError:
            files = []
        for source in files:
            if source.path is not None and source.data is None:
                source.data, source.unreadable = read_bytes(source.path, self.settings.max_file_size)
        # the runner the history's files show (goose markers, dbmate sections, …), read before parsing drops
        # the files' bytes
        choice = runners.assign(None, False, files)
        name = choice.runner.name
        self.detected_runner = None if name in ("psql", "unknown", "assume-in-transaction") else name
        for source in files:
            engine.replay(prepare(source))
        return engine.model, list(files)


def split_column(target: str) -> tuple[str, str]:
    """``accounts.score`` / ``billing.accounts.score`` → (table, column)."""
    table, dot, column = target.strip().rpartition(".")
    if not dot or not table or not column:
        raise GeneratorError(f"{target!r}: expected TABLE.COLUMN")
    return table, column.strip('"')


def split_index(target: str) -> tuple[str, str]:
    """``accounts(tenant_id, email)`` → ("accounts", "tenant_id, email")."""
    match = re.fullmatch(r"\s*([^\s(]+)\s*\((.+)\)\s*", target)
    if match is None:
        raise GeneratorError(f"{target!r}: expected TABLE(COLUMNS)")
    return match.group(1), match.group(2).strip()


def parse_reference(text: str) -> tuple[str, list[str], str, list[str]]:
    """``opportunities(account_id) REFERENCES accounts(account_id)`` → its parts."""
    match = re.fullmatch(r"\s*([^\s(]+)\s*\(([^)]+)\)\s+REFERENCES\s+([^\s(]+)\s*\(([^)]+)\)\s*", text, re.I)
    if match is None:
        raise GeneratorError(f"{text!r}: expected TABLE(COL) REFERENCES OTHER(COL)")

    def columns(group: str) -> list[str]:
        return [c.strip().strip('"') for c in group.split(",") if c.strip()]

    return match.group(1), columns(match.group(2)), match.group(3), columns(match.group(4))


def _git_user() -> str:
    try:
        out = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


__all__ = ["GeneratorError", "Migration", "MigrationGenerator", "parse_reference", "split_column", "split_index"]
