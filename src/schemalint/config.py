"""Configuration: ``[tool.schemalint]`` in pyproject.toml or ``schemalint.toml``, validated."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemalint import memo
from schemalint.findings import Severity
from schemalint.sources.files import MAX_FILE_SIZE


class ConfigError(Exception):
    """A configuration problem; the message names the file and the key."""


SUPPORTED_POSTGRES = range(10, 19)
MAX_FILE_SIZE_LIMIT = 1024**4  # bytes: the largest max-file-size accepted
# The rule sets (rules/__init__.py): "default" fits any PostgreSQL team, "guide" adds the house guide's conventions.
PRESETS = ("default", "guide")  # 10 is accepted for its pre-PG11 rewrite behaviour

# Per-rule option tables: table → key → (type, default)
OPTION_TABLES: dict[str, dict[str, tuple[type | tuple[type, ...], Any]]] = {
    "locks": {
        "runner-sets-lock-timeout": (bool, False),
        "max-lock-timeout": (str, "10s"),
        "lock-timeout": (str, "5s"),  # what recipes, the generator and the SL114 fix set
    },
    "verify": {
        "rows": (dict, {}),  # { default = 100000, accounts = 2000000 }
        "production-rows": (dict, {}),  # rows in production per table, for SL508 (else from --rows-from)
        "tenants": (int, 10),
        "blocked-threshold": (str, "1s"),  # SL507: writes waiting longer than this
        "blocked-threshold-reads": (str, "200ms"),  # SL507: reads waiting longer than this
        "max-cluster-size": (str, "2GB"),  # the throwaway cluster's disk, at most (a runaway insert stops there)
        "queries": (list, []),  # verify --queries: files of the application's statements (globs)
        "slower-threshold": ((int, float), 2.0),  # SL509: a query this many times slower (and ≥ 5 ms, beyond the noise)
        "write-threshold": ((int, float), 1.5),  # SL510: inserts into a changed table this many times slower
    },
    "flyway": {
        "mixed": (bool, None),  # Flyway's mixed setting; unset: read from flyway.conf / flyway.toml / Spring config
    },
    "tenancy": {
        "enabled": (bool, None),  # the tenancy rules forced on/off (also `tenancy = true` at the top level)
        "column": (str, "tenant_id"),
        "registry": (str, "tenant_metadata"),  # the table tenant columns reference (the generator uses it)
        "exempt-tables": (list, ["tenant_metadata"]),
        "exempt-schemas": (list, []),
        "setting": (str, "app.tenant_id"),
    },
    "conventions": {
        "audit-columns": (list, ["created_at", "updated_at"]),
        "index-pattern": (str, r"^idx_"),
        "unique-pattern": (str, r"^(uk|uq)_"),
        "check-pattern": (str, r"^chk_"),
        "foreign-key-pattern": (str, r"^fk_"),
        "primary-key-pattern": (str, r"^pk_|_pkey$"),
    },
    "migration-file": {
        "filename-pattern": (str, r"^\d{8}_\d{6}_[a-z0-9]+(_[a-z0-9]+)*\.sql$"),
        "required-header-fields": (list, ["MIGRATION", "Version", "Author", "Risk Assessment", "Estimated Duration"]),
        "rollback-markers": (list, []),
        "migrations-dir": (str, ""),  # where `schemalint new` writes (default: the newest migration's folder)
    },
}

_TOP_LEVEL: dict[str, type | tuple[type, ...]] = {
    "select": list,
    "ignore": list,
    "extend-select": list,
    "per-file-ignores": dict,
    "include": list,
    "exclude": list,
    "target-postgres": int,
    "assume-in-transaction": bool,
    "fail-on": str,
    "severity": dict,
    "default-schema": str,
    "cache-dir": str,
    "history-paths": list,
    "runner": str,
    "baseline": str,
    "max-file-size": (int, str),
    "preset": str,
    "no-transaction-markers": list,
    "docs-url": str,
    "max-history-files": int,
    "daemon": bool,
    "source": str,
    "django-settings": str,
    "python": str,
}


@dataclass(slots=True)
class Settings:
    select: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    include: list[str] = field(default_factory=lambda: ["*.sql"])
    exclude: list[str] = field(default_factory=list)
    target_postgres: int = 15
    assume_in_transaction: bool = False
    fail_on: Severity = Severity.ERROR
    severity: dict[str, Severity] = field(default_factory=dict)
    default_schema: str = "public"
    cache_dir: str = ".schemalint_cache"
    history_paths: list[str] = field(default_factory=list)
    runner: str | None = None  # None: detected from the files (runners.py)
    baseline: str | None = None  # a schema dump read first as history, never reported
    max_file_size: int = MAX_FILE_SIZE  # bytes; larger files are SL002 "too large"
    preset: str = "default"  # the rule set: "default" (any PostgreSQL team) or "guide" (the house guide)
    tenancy: bool | None = None  # the tenancy rules: forced on or off; None: on when the history is multi-tenant
    no_transaction_markers: list[str] = field(default_factory=list)  # the team's own "no transaction" comments
    max_history_files: int = 20_000  # history read for single named files stops after this many (a note says so)
    source_framework: str | None = None  # "sql", "django": what the migrations are; None: detected
    django_settings: str | None = None  # Django's settings module (else manage.py's, or the environment's)
    python: str | None = None  # the project's interpreter that renders Django/Alembic migrations (relative: to the config)
    docs_url: str | None = None  # where rule pages are published: "https://…/{code}.html" ({code}, {name}, {page})
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: Path | None = None  # the file these settings came from

    def option(self, table: str, key: str) -> Any:
        values = self.options.get(table, {})
        if key in values:
            return values[key]
        return OPTION_TABLES[table][key][1]

    def tenant_exempt(self, table: tuple[str, str]) -> bool:
        """Is the (schema, name) table shared by every tenant (``exempt-schemas``, ``exempt-tables`` names or
        globs, plain or schema-qualified)?"""
        if table[0] in self.option("tenancy", "exempt-schemas"):
            return True
        return any(fnmatch.fnmatchcase(table[1], pattern) or fnmatch.fnmatchcase(f"{table[0]}.{table[1]}", pattern)
                   for pattern in self.option("tenancy", "exempt-tables"))


def find_config(start: Path) -> Path | None:
    """The nearest schemalint.toml, or pyproject.toml with a [tool.schemalint] table, upwards."""
    directory = start.resolve()
    if directory.is_file():
        directory = directory.parent
    for candidate_dir in (directory, *directory.parents):
        own = candidate_dir / "schemalint.toml"
        memo.note_file(own)  # a config created here, or changed, changes the run
        memo.note_file(candidate_dir / "pyproject.toml")
        if own.is_file():
            return own
        pyproject = candidate_dir / "pyproject.toml"
        if pyproject.is_file():
            # a pyproject.toml that cannot be read may hold our table: an error, never skipped in silence
            data = _read_toml(pyproject)
            if "schemalint" in data.get("tool", {}):
                return pyproject
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    memo.note_file(path)
    try:
        # utf-8-sig: a config saved with a byte-order mark (Windows editors) is read, not rejected
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: config file is not valid UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None


def load_settings(path: Path | None) -> Settings:
    if path is None:
        return Settings()
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("schemalint", {})
        prefix = "tool.schemalint"
    else:
        table = data
        prefix = ""
    settings = settings_from_table(table, path, prefix)
    settings.source = path
    return settings


def settings_from_table(table: dict[str, Any], path: Path | str, prefix: str = "") -> Settings:
    where = f"[{prefix}]" if prefix else "top level"
    settings = Settings()

    def fail(key: str, problem: str) -> ConfigError:
        dotted = f"{prefix}.{key}" if prefix else key
        return ConfigError(f"{path}: key '{dotted}': {problem}")

    for key, value in table.items():
        if key == "tenancy" and isinstance(value, bool):  # tenancy = true/false: the rules forced on or off
            settings.tenancy = value
            continue
        if key in OPTION_TABLES:
            if not isinstance(value, dict):
                raise fail(key, "must be a table" + (" (or true/false)" if key == "tenancy" else ""))
            settings.options[key] = _check_option_table(key, value, fail)
            if key == "tenancy" and "enabled" in value:
                settings.tenancy = value["enabled"]
            continue
        expected = _TOP_LEVEL.get(key)
        if expected is None:
            raise ConfigError(f"{path}: unknown key '{key}' in {where}")
        if not _is(value, expected):
            raise fail(key, f"expected {_type_name(expected)}, got {type(value).__name__}")
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise fail(key, "expected a list of strings")
        if key == "select":
            settings.select = list(value)
        elif key == "ignore":
            settings.ignore = list(value)
        elif key == "extend-select":
            settings.extend_select = list(value)
        elif key == "per-file-ignores":
            for pattern, codes in value.items():
                if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                    raise fail(f"{key}.{pattern}", "expected a list of rule codes")
                settings.per_file_ignores[pattern] = list(codes)
        elif key == "include":
            settings.include = list(value)
        elif key == "exclude":
            settings.exclude = list(value)
        elif key == "target-postgres":
            if value not in SUPPORTED_POSTGRES:
                raise fail(key, f"PostgreSQL {value} is not supported (use 10 to 18)")
            settings.target_postgres = value
        elif key == "assume-in-transaction":
            settings.assume_in_transaction = value
        elif key == "fail-on":
            try:
                settings.fail_on = Severity.parse(value)
            except ValueError as exc:
                raise fail(key, str(exc)) from None
        elif key == "severity":
            for code, sev in value.items():
                if not isinstance(sev, str):
                    raise fail(f"{key}.{code}", "expected 'error' or 'warning'")
                try:
                    settings.severity[code] = Severity.parse(sev)
                except ValueError as exc:
                    raise fail(f"{key}.{code}", str(exc)) from None
        elif key == "default-schema":
            settings.default_schema = value
        elif key == "cache-dir":
            settings.cache_dir = value
        elif key == "history-paths":
            settings.history_paths = list(value)
        elif key == "runner":
            from schemalint.sources.runners import RUNNERS

            if value not in RUNNERS:
                raise fail(key, f"unknown runner {value!r} (choose from {', '.join(RUNNERS)})")
            settings.runner = value
        elif key == "baseline":
            settings.baseline = value
        elif key == "preset":
            if value not in PRESETS:
                raise fail(key, f"unknown preset {value!r} (choose from {', '.join(PRESETS)})")
            settings.preset = value
        elif key == "no-transaction-markers":
            if not all(marker.strip().startswith("--") for marker in value):
                raise fail(key, "each marker is a SQL comment line, e.g. \"-- postgres-migrations disable-transaction\"")
            settings.no_transaction_markers = [marker.strip() for marker in value]
        elif key == "source":
            if value not in ("sql", "django", "alembic"):
                raise fail(key, 'expected "sql", "django" or "alembic"')
            settings.source_framework = value
        elif key == "django-settings":
            settings.django_settings = value
        elif key == "python":
            if not value.strip():
                raise fail(key, 'expected the project\'s interpreter, e.g. ".venv/bin/python"')
            settings.python = str((Path(path).parent / value).absolute()) if isinstance(path, Path) else value
        elif key == "max-history-files":
            if not 0 < value <= 10_000_000:
                raise fail(key, "expected a number of files from 1 to 10,000,000")
            settings.max_history_files = value
        elif key == "docs-url":
            try:
                value.format(code="SL102", name="create-index-non-concurrently", page="SL102-x.md")
            except (KeyError, IndexError, ValueError) as exc:
                raise fail(key, f"{value!r}: use {{code}}, {{name}} or {{page}} only ({exc})") from None
            settings.docs_url = value
        elif key == "max-file-size":
            size = parse_size(value)
            if size is None or size <= 0:
                raise fail(key, "expected a size in bytes or with a unit: 64MB, 512kB")
            if size > MAX_FILE_SIZE_LIMIT:
                raise fail(key, "at most 1TB (a migration file that large cannot be linted anyway)")
            settings.max_file_size = size
    return settings


def parse_size(value: int | str) -> int | None:
    """A size in bytes from ``1048576``, ``"512kB"``, ``"64MB"``, ``"2GB"``; None when it is not one."""
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"\s*(\d+)\s*(b|kb|mb|gb|tb)?\s*", value, re.I)
    if match is None:
        return None
    scale = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4}[(match.group(2) or "b").lower()]
    return int(match.group(1)) * scale


def _is(value: object, expected: type | tuple[type, ...]) -> bool:
    if expected is int and isinstance(value, bool):
        return False
    return isinstance(value, expected)


def _type_name(expected: type | tuple[type, ...]) -> str:
    names = {list: "a list", dict: "a table", int: "an integer", bool: "true or false", str: "a string",
             float: "a number"}
    if isinstance(expected, tuple):
        return " or ".join(names.get(t, t.__name__) for t in expected)
    return names.get(expected, expected.__name__)


def _check_option_table(name: str, values: dict[str, Any], fail: Any) -> dict[str, Any]:
    known = OPTION_TABLES[name]
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise fail(f"{name}.{key}", f"unknown option (known: {', '.join(sorted(known))})")
        expected = known[key][0]
        if not _is(value, expected):
            raise fail(f"{name}.{key}", f"expected {_type_name(expected)}, got {type(value).__name__}")
        if expected is list and not all(isinstance(v, str) for v in value):
            raise fail(f"{name}.{key}", "expected a list of strings")
        if key.endswith("-pattern") or key == "rollback-markers":
            from schemalint.patterns import PatternError, compiled

            for pattern in value if isinstance(value, list) else [value]:
                try:
                    compiled(pattern, key == "rollback-markers", key == "rollback-markers")
                except PatternError as exc:
                    raise fail(f"{name}.{key}", f"invalid pattern {pattern!r}: {exc}") from None
        if name == "verify" and key in ("rows", "production-rows"):
            for table, count in value.items():
                if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                    raise fail(f"{name}.{key}.{table}", "expected a number of rows (0 or more)")
        if key == "max-cluster-size" and not parse_size(value):
            raise fail(f"{name}.{key}", f"{value!r} is not a size (e.g. \"2GB\", \"500MB\")")
        if key in ("max-lock-timeout", "lock-timeout", "blocked-threshold", "blocked-threshold-reads"):
            from schemalint.durations import guc_milliseconds

            if guc_milliseconds(value) is None:
                raise fail(f"{name}.{key}", f"{value!r} is not a duration (e.g. \"10s\", \"500ms\", \"1min\")")
        out[key] = value
    return out


STARTER_CONFIG = """\
# schemalint configuration (https://github.com/schemalint/schemalint)
# Every key is optional; the values shown are the defaults.

# The rule set a run starts from:
# - "default": what any PostgreSQL team wants: locks and table rewrites (SL1xx), changes that break the running
#   application (SL2xx), security (SL306, SL307), the file itself and its history (SL0xx but SL010-SL012),
#   identifier length and foreign-key types (SL409, SL410). The tenancy rules (SL301-SL305) join it by
#   themselves when the history shows a multi-tenant schema (a table with the tenant column below, or a policy
#   on its setting), and the summary says so.
# - "guide": everything the house guide asks for on top: file name, header and rollback section (SL010-SL012),
#   primary keys, audit columns, timestamptz, identity, naming, foreign-key indexes, jsonb, no char
#   (SL401-SL408), and the tenancy rules always.
preset = "default"


# Rules to run instead of the preset: codes ("SL102"), prefixes ("SL1"), names ("drop-column"), families
# ("locks", "compatibility", "tenancy", "security", "conventions", "file", "history", "core", "observed") or "ALL".
# select = ["ALL"]
# ignore = []
# extend-select = []

# PostgreSQL version the migrations run on (10-18): decides e.g. whether a default rewrites.
target-postgres = 15

# The migration runner: decides which files run in one transaction, and the order of the files.
# psql, flyway, golang-migrate, goose, dbmate, diesel, sqlx, popx, prisma, alembic, django or rails.
# Default: detected from the repository (go.mod, package.json, Cargo.toml, -- +goose markers, V1__x.sql
# names, …); when nothing tells, each statement is judged as run on its own, and the summary says so.
# runner = "goose"

# Comment lines your runner reads as "run this file outside a transaction" (besides the runners' own).
# no-transaction-markers = ["-- postgres-migrations disable-transaction"]

# A schema dump (pg_dump --schema-only) or any SQL file read first as history: for projects whose
# migrations do not start from an empty database. Never reported.
# baseline = "db/schema.sql"

# Without a runner: does something wrap each file in a transaction anyway?
assume-in-transaction = false

# Exit with 1 when a finding at or above this severity remains: "error" or "warning".
fail-on = "error"

# When single files are checked (pre-commit, editors), the migrations before them in these folders are
# read as history (the schema model: old column types, tables created earlier), and not reported.
# Default: each named file's own migrations folder.
# history-paths = ["db/migrations"]

# include = ["*.sql"]
# exclude = ["**/seeds/*.sql"]

# The schema unqualified names belong to ("public.t" and "t" are the same table).
# default-schema = "public"

# Where the result cache lives, relative to this file (add it to .gitignore).
# cache-dir = ".schemalint_cache"

# Files larger than this are not read (SL002): bytes, or with a unit ("64MB", "512kB").
# max-file-size = "64MB"

# History for single named files stops after this many files (a note says so when it does).
# max-history-files = 20000
# Run checks in the warm daemon (`schemalint daemon start`) when it answers; else in-process.
# daemon = false
# What the migrations are: "sql" files, or "django" / "alembic" (Python migrations, rendered without a database).
# Default: detected (manage.py and apps' migrations; alembic.ini).
# source = "django"
# django-settings = "mysite.settings"
# The project's interpreter, which has Django / Alembic (relative to this file; default: schemalint's own).
# python = ".venv/bin/python"

# Where your team publishes the rule pages (SARIF helpUri); default: the pages installed with schemalint.
# docs-url = "https://docs.example.com/schemalint/{code}.html"

# [per-file-ignores]
# "migrations/legacy/*.sql" = ["SL201"]

# [severity]
# SL114 = "error"

[locks]
# Set to true when your migration runner sets lock_timeout itself (satisfies SL114).
runner-sets-lock-timeout = false
# The longest lock_timeout SL124 accepts while a strong lock is taken.
# max-lock-timeout = "10s"
# The lock_timeout that recipes, `schemalint new` and the SL114 fix write.
# lock-timeout = "5s"

[flyway]
# Flyway's `mixed` setting (a script may mix CREATE INDEX CONCURRENTLY with other statements); by default it
# is read from flyway.conf, flyway.toml or Spring's application.properties.
# mixed = true

[verify]
# Synthetic rows per table for `verify` (also `verify --rows N`); `default` is every other table.
# rows = { default = 100000, accounts = 2000000 }
# Rows in production per table (else read with `verify --rows-from DSN`), to scale the measured duration (SL508).
# production-rows = { accounts = 50000000 }
# tenants = 10
# SL507 (verify --probe): writes / reads waiting longer than this are reported ("0" reports any wait).
# blocked-threshold = "1s"
# blocked-threshold-reads = "200ms"
# The throwaway cluster's folder may grow to this size; a statement that passes it is stopped (SL501).
# max-cluster-size = "2GB"
# verify --queries: files of the application's typical statements (globs), timed before and after (SL509, SL511).
# queries = ["db/queries/*.sql"]
# slower-threshold = 2.0   # SL509: this many times slower (and at least 5 ms, beyond the noise)
# write-threshold = 1.5    # SL510: inserts into a changed table this many times slower

[tenancy]
# Force the tenancy rules on (true) or off (false) instead of detecting a multi-tenant schema
# (without this table, `tenancy = true` at the top level says the same).
# enabled = true
# column = "tenant_id"
# Tables that need no tenant column: names or globs ("audit_*"), optionally schema-qualified.
# exempt-tables = ["tenant_metadata"]
# exempt-schemas = []
# setting = "app.tenant_id"
# The table every tenant column references; the generator takes its key's type from the history.
# registry = "tenant_metadata"

[conventions]
# audit-columns = ["created_at", "updated_at"]
# index-pattern = "^idx_"
# unique-pattern = "^(uk|uq)_"
# check-pattern = "^chk_"
# foreign-key-pattern = "^fk_"
# primary-key-pattern = "^pk_|_pkey$"

[migration-file]
# filename-pattern = '^\\d{8}_\\d{6}_[a-z0-9]+(_[a-z0-9]+)*\\.sql$'
# required-header-fields = ["MIGRATION", "Version", "Author", "Risk Assessment", "Estimated Duration"]
# Extra comment lines that start a rollback section (regular expressions), e.g. ["^--\\s*rollback\\b"]
# rollback-markers = []
# Where `schemalint new` writes new migrations (default: the folder of the newest migration, else migrations/).
# migrations-dir = "db/migrations"
"""
