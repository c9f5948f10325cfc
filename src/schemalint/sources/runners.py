"""Migration runners: which one a project uses (configured, or read from what the repository shows), and how
it runs each file: wrapped in one transaction, sent as one multi-statement query (which PostgreSQL runs as one
implicit transaction), or statement by statement in autocommit. Per-file opt-outs are honoured.

Detection, most certain first: markers inside the migrations (``-- +goose Up``), the runner's own files beside
them (``migration_lock.toml``, ``atlas.sum``, ``diesel.toml``), the project's manifests (``go.mod``,
``package.json``, ``Cargo.toml``, ``pom.xml``, ``build.gradle``, ``alembic.ini``, ``manage.py``), then file-name
layouts. When nothing tells, the runner is *unknown*: each statement is judged as run on its own, and the
summary says so."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from schemalint import memo
from schemalint.sources.files import SourceFile
from schemalint.sql.parse import Statement
from schemalint.sql.transactions import flyway_runs_outside_transaction

AUTOCOMMIT, WRAPPED, IMPLICIT = "autocommit", "wrapped", "implicit"
# Flyway: wrapped, unless the script holds a statement Flyway knows cannot run in a transaction; then the whole
# script runs without one, and Flyway refuses it when it also holds other statements, unless mixed = true.
PER_SCRIPT, PER_SCRIPT_MIXED = "per-script", "per-script-mixed"


@dataclass(frozen=True, slots=True)
class Runner:
    name: str
    transaction: str  # how it runs a file without an opt-out: WRAPPED, IMPLICIT, PER_SCRIPT or AUTOCOMMIT
    opt_out: str  # how a file asks to run outside a transaction (for messages and the README)

    def describe_transaction(self) -> str:
        if self.transaction == WRAPPED:
            return f"{self.name} wraps each file in a transaction"
        if self.transaction in (PER_SCRIPT, PER_SCRIPT_MIXED):
            return (f"{self.name} wraps each script in a transaction, unless it holds a statement {self.name} knows "
                    f"cannot run in one (then the whole script runs without one)")
        if self.transaction == IMPLICIT:
            return (f"{self.name} sends each file as one multi-statement query, which PostgreSQL runs as one "
                    f"implicit transaction")
        return f"{self.name} runs each statement on its own (autocommit)"


RUNNERS: dict[str, Runner] = {r.name: r for r in (
    Runner("psql", AUTOCOMMIT, "nothing to do: psql commits each statement on its own"),
    Runner("flyway", PER_SCRIPT, "executeInTransaction=false in the script's .sql.conf file"),
    Runner("golang-migrate", IMPLICIT, "a file of its own: golang-migrate cannot run a file outside a transaction "
                                       "except statement by statement (x-multi-statement=true)"),
    Runner("goose", WRAPPED, "-- +goose NO TRANSACTION at the top of the file"),
    Runner("dbmate", WRAPPED, "-- migrate:up transaction:false"),
    Runner("diesel", WRAPPED, "run_in_transaction = false in the migration's metadata.toml"),
    Runner("sqlx", WRAPPED, "-- no-transaction as the first line of the file"),
    Runner("popx", WRAPPED, ".autocommit in the file name (<version>_<name>.postgres.autocommit.up.sql)"),
    Runner("prisma", IMPLICIT, "a migration of its own, applied with prisma db execute or outside Prisma"),
    Runner("drizzle", WRAPPED, "none: drizzle-kit migrate runs every pending migration in one transaction, so "
                               "apply the statement outside drizzle"),
    Runner("atlas", WRAPPED, "-- atlas:txmode none at the top of the file"),
    Runner("tern", WRAPPED, "none: tern runs every migration in a transaction, so apply the statement outside "
                            "tern"),
    Runner("sql-migrate", WRAPPED, "-- +migrate Up notransaction"),
    Runner("refinery", WRAPPED, "none per file: refinery runs each migration in its own transaction"),
    Runner("liquibase", WRAPPED, "runInTransaction:false on the --changeset line"),
    Runner("node-pg-migrate", WRAPPED, "pgm.noTransaction() in the migration"),
    Runner("postgres-migrations", WRAPPED, "-- postgres-migrations disable-transaction in the file"),
    Runner("knex", WRAPPED, "exports.config = { transaction: false } in the migration"),
    Runner("typeorm", WRAPPED, "public transaction = false on the migration class (migrationsTransactionMode "
                               "\"each\")"),
    Runner("alembic", WRAPPED, "with op.get_context().autocommit_block(): around the statement"),
    Runner("django", WRAPPED, "atomic = False on the Migration class"),
    Runner("rails", WRAPPED, "disable_ddl_transaction! in the migration class"),
)}
UNKNOWN = Runner("unknown", AUTOCOMMIT, "")


@dataclass(frozen=True, slots=True)
class RunnerChoice:
    runner: Runner
    reason: str  # "configured", "detected from -- +goose markers", …

    @property
    def summary(self) -> str:
        if self.runner is UNKNOWN:
            return ("unknown — each statement judged as run on its own; set runner = \"…\" if yours wraps files "
                    "in a transaction")
        return f"{self.runner.name} ({self.reason})"


_HEAD = 65_536  # bytes of each file looked at for markers (they sit at the top)
_GOOSE = re.compile(rb"(?im)^[ \t]*--[ \t]*\+goose[ \t]+(up|down)\b")
_GOOSE_NO_TX = re.compile(rb"(?im)^[ \t]*--[ \t]*\+goose[ \t]+no[ \t]+transaction\b")
_DBMATE = re.compile(rb"(?im)^[ \t]*--[ \t]*migrate:up\b")
_DBMATE_NO_TX = re.compile(rb"(?im)^[ \t]*--[ \t]*migrate:up\b[^\n]*\btransaction:false\b")
_SQL_MIGRATE = re.compile(rb"(?m)^[ \t]*--[ \t]*\+migrate[ \t]+(Up|Down)\b")
_SQL_MIGRATE_NO_TX = re.compile(rb"(?m)^[ \t]*--[ \t]*\+migrate[ \t]+Up\b[^\n]*\bnotransaction\b")
_LIQUIBASE = re.compile(rb"(?im)\A(?:\xef\xbb\xbf)?\s*--[ \t]*liquibase[ \t]+formatted[ \t]+sql\b")
_LIQUIBASE_NO_TX = re.compile(rb"(?im)^[ \t]*--[ \t]*changeset\b[^\n]*\brunInTransaction:false\b")
_TERN = re.compile(rb"(?m)^---- create above / drop below ----[ \t]*\r?$")
_ATLAS_NO_TX = re.compile(rb"(?im)^[ \t]*--[ \t]*atlas:txmode[ \t]+none\b")
_SQLX_NO_TX = re.compile(rb"\A(?:\xef\xbb\xbf)?[ \t]*--[ \t]*no-transaction[ \t]*\r?$", re.M)
_POSTGRES_MIGRATIONS_NO_TX = b"-- postgres-migrations disable-transaction"
_FLYWAY_VERSIONED = re.compile(r"^V\d[\d._]*__.+\.sql$")
_VERSIONED_FOLDER = re.compile(r"^\d[\d_-]*[_-]?\w*$")
_UP_DOWN_PAIR = re.compile(r"^\d+_.+\.(up|down)\.sql$")
# ory/x popx (gobuffalo pop): <version>_<name>[.<dialect>][.autocommit].(up|down).sql
_POPX_NAME = re.compile(r"^\d+_[^.]+\.(postgres|cockroach|mysql|sqlite3?)(\.autocommit)?\.(up|down)\.sql$")
_POPX_AUTOCOMMIT = re.compile(r"^\d+_[^.]+(\.[a-z0-9]+)?\.autocommit\.(up|down)\.sql$")
_SQLX_NAME = re.compile(r"^\d+_.+\.sql$")
_PRISMA_FOLDER = re.compile(r"^\d{14}_")
_FLYWAY_NO_TX = re.compile(r"(?im)^\s*executeInTransaction\s*=\s*false\s*$")
_DIESEL_NO_TX = re.compile(r"(?im)^\s*run_in_transaction\s*=\s*false\s*$")

# What a manifest names, and the runner it means: (file name, text in it, runner). The first manifest that
# names exactly one runner decides; one that names several (a monorepo) decides nothing by itself.
_MANIFESTS: tuple[tuple[str, str, str], ...] = (
    ("go.mod", "github.com/pressly/goose", "goose"),
    ("go.mod", "github.com/golang-migrate/migrate", "golang-migrate"),
    ("go.mod", "github.com/ory/x", "popx"),
    ("go.mod", "github.com/gobuffalo/pop", "popx"),
    ("go.mod", "github.com/jackc/tern", "tern"),
    ("go.mod", "ariga.io/atlas", "atlas"),
    ("go.mod", "github.com/amacneil/dbmate", "dbmate"),
    ("go.mod", "github.com/rubenv/sql-migrate", "sql-migrate"),
    ("package.json", '"prisma"', "prisma"),
    ("package.json", '"@prisma/client"', "prisma"),
    ("package.json", '"drizzle-kit"', "drizzle"),
    ("package.json", '"knex"', "knex"),
    ("package.json", '"typeorm"', "typeorm"),
    ("package.json", '"node-pg-migrate"', "node-pg-migrate"),
    ("package.json", '"postgres-migrations"', "postgres-migrations"),
    ("package.json", '"dbmate"', "dbmate"),
    ("Cargo.toml", "diesel", "diesel"),
    ("Cargo.toml", "sqlx", "sqlx"),
    ("Cargo.toml", "refinery", "refinery"),
    ("pom.xml", "flyway", "flyway"),
    ("pom.xml", "liquibase", "liquibase"),
    ("build.gradle", "flyway", "flyway"),
    ("build.gradle", "liquibase", "liquibase"),
    ("build.gradle.kts", "flyway", "flyway"),
    ("build.gradle.kts", "liquibase", "liquibase"),
    ("Gemfile", "rails", "rails"),
)
# A runner's own file, beside the migrations or above them: certain.
_TOOL_FILES: tuple[tuple[str, str], ...] = (
    ("atlas.sum", "atlas"), ("atlas.hcl", "atlas"), ("diesel.toml", "diesel"), ("flyway.conf", "flyway"),
    ("flyway.toml", "flyway"), ("alembic.ini", "alembic"), ("manage.py", "django"), ("drizzle.config.ts", "drizzle"),
    ("drizzle.config.js", "drizzle"), ("drizzle.config.mjs", "drizzle"), ("drizzle.config.json", "drizzle"),
    ("tern.conf", "tern"), ("liquibase.properties", "liquibase"), (".pgmigraterc", "node-pg-migrate"),
)
_EVIDENCE_DEPTH = 6  # folders looked at from a migrations folder upwards (never above the project root)


def _head(source: SourceFile) -> bytes:
    return (source.data or b"")[:_HEAD]


def _folders_up(start: Path, root: Path | None) -> Iterator[Path]:
    """``start`` and the folders above it, up to ``root`` (inclusive) and at most _EVIDENCE_DEPTH of them."""
    folder = start.absolute()
    top = root.absolute() if root is not None else None
    for _ in range(_EVIDENCE_DEPTH):
        yield folder
        if folder == top or folder.parent == folder:
            return
        if top is not None and top not in folder.parents:
            return  # outside the project: its manifests are not evidence
        folder = folder.parent


def _evidence_files(folders: Iterable[Path], root: Path | None) -> Iterator[Path]:
    seen: set[Path] = set()
    for start in folders:
        for folder in _folders_up(start, root):
            if folder in seen:
                break  # the rest of the way up was looked at already
            seen.add(folder)
            yield folder


def _is_file(path: Path) -> bool:
    """A file looked for as evidence (noted for the whole-run memo, present or not)."""
    memo.note_file(path)
    return path.is_file()


def _read_small(path: Path, limit: int = 1_000_000) -> str | None:
    """A manifest's text (regular files only, and not huge ones)."""
    memo.note_file(path)
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > limit:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _from_repository(paths: list[Path], root: Path | None) -> tuple[str, str] | None:
    """(runner, evidence) from the runner's own files or a manifest, looked for from the migrations' folders
    up to the project root."""
    folders = sorted({p.parent for p in paths})
    for folder in _evidence_files(folders, root):
        for name, runner in _TOOL_FILES:
            if _is_file(folder / name):
                return runner, str(_shown(folder / name, root))
        if _is_file(folder / "prisma" / "schema.prisma") and (folder / "prisma" / "migrations").is_dir():
            return "prisma", str(_shown(folder / "prisma" / "schema.prisma", root))
        named: dict[str, tuple[str, Path]] = {}
        for manifest, needle, runner in _MANIFESTS:
            text = _read_small(folder / manifest)
            if text is not None and needle in text:
                named.setdefault(runner, (needle.strip('"'), folder / manifest))
        if len(named) == 1:
            ((runner, (needle, path)),) = named.items()
            return runner, f"{_shown(path, root)}: {needle}"
    return None


def _shown(path: Path, root: Path | None) -> Path:
    try:
        return path.absolute().relative_to(root.absolute()) if root is not None else path
    except ValueError:
        return path


def _ancestor_has(start: Path, name: str, root: Path | None, containing: str | None = None) -> bool:
    for folder in _folders_up(start, root):
        candidate = folder / name
        if _is_file(candidate) and (containing is None or containing in (_read_small(candidate) or "")):
            return True
    return False


def detect(files: list[SourceFile], root: Path | None = None) -> RunnerChoice | None:
    """The runner what the repository shows, or None. ``root``: the project's top folder (evidence is never
    looked for above it)."""
    paths = [f.path for f in files if f.path is not None]
    heads = [_head(f) for f in files]
    # markers inside the migrations: unambiguous (a plain substring test first, the pattern only where it may match)
    if any(_GOOSE.search(h) for h in heads if b"+goose" in h or b"+GOOSE" in h):
        return RunnerChoice(RUNNERS["goose"], "detected from -- +goose markers")
    if any(_DBMATE.search(h) for h in heads if b"migrate:" in h):
        return RunnerChoice(RUNNERS["dbmate"], "detected from -- migrate:up markers")
    if any(_SQL_MIGRATE.search(h) for h in heads if b"+migrate" in h):
        return RunnerChoice(RUNNERS["sql-migrate"], "detected from -- +migrate Up markers")
    if any(_LIQUIBASE.search(h) for h in heads if b"liquibase" in h.lower()):
        return RunnerChoice(RUNNERS["liquibase"], "detected from --liquibase formatted sql")
    if any(_TERN.search(h) for h in heads if b"create above" in h):
        return RunnerChoice(RUNNERS["tern"], "detected from ---- create above / drop below ---- markers")
    # layouts only one runner writes
    for path in paths:
        if (path.name == "migration.sql" and _PRISMA_FOLDER.match(path.parent.name)
                and _is_file(path.parent.parent / "migration_lock.toml")):
            return RunnerChoice(RUNNERS["prisma"], "detected from migration_lock.toml beside timestamped "
                                                   "migration.sql folders")
        if path.suffix == ".sql" and _is_file(path.parent / "meta" / "_journal.json"):
            return RunnerChoice(RUNNERS["drizzle"], "detected from meta/_journal.json beside the migrations")
    for path in paths:
        if path.name in ("up.sql", "down.sql") and _VERSIONED_FOLDER.match(path.parent.name) and (
                _is_file(path.parent / "metadata.toml") or _ancestor_has(path.parent.parent, "diesel.toml", root)):
            return RunnerChoice(RUNNERS["diesel"], "detected from <version>_name/up.sql folders with diesel.toml "
                                                   "or metadata.toml")
        if path.parent.name == "00000000000000_diesel_initial_setup":  # what `diesel setup` writes first
            return RunnerChoice(RUNNERS["diesel"], "detected from the 00000000000000_diesel_initial_setup folder")
    if any(_POPX_NAME.match(p.name) for p in paths):
        return RunnerChoice(RUNNERS["popx"], "detected from <version>_<name>.<dialect>.up.sql file names")
    # the runner's own files and the project's manifests
    found = _from_repository(paths, root)
    if found is not None:
        return RunnerChoice(RUNNERS[found[0]], f"detected from {found[1]}")
    # file-name layouts several runners share: the most common one
    if any(_FLYWAY_VERSIONED.match(path.name) for path in paths):
        return RunnerChoice(RUNNERS["flyway"], "detected from V<version>__name.sql file names")
    if any(_UP_DOWN_PAIR.match(p.name) for p in paths):
        return RunnerChoice(RUNNERS["golang-migrate"], "detected from N_name.up.sql / N_name.down.sql pairs")
    return None


def choose(configured: str | None, assume_in_transaction: bool, files: list[SourceFile],
           root: Path | None = None) -> RunnerChoice:
    if configured is not None:
        return RunnerChoice(RUNNERS[configured], "configured")
    if assume_in_transaction:
        return RunnerChoice(Runner("assume-in-transaction", WRAPPED, "a file of its own that your runner does not "
                                   "wrap in a transaction"), "configured: each file in one transaction")
    detected = detect(files, root)
    if detected is not None:
        return detected
    return RunnerChoice(UNKNOWN, "nothing in the repository tells")


def file_transaction(runner: Runner, source: SourceFile, markers: list[str] | None = None, mixed: bool = False) -> str:
    """How ``runner`` runs this file: its default, unless the file opts out of the transaction (the runner's own
    way, or one of the project's ``no-transaction-markers`` comment lines)."""
    if source.role != "up" or runner.transaction == AUTOCOMMIT:
        return AUTOCOMMIT
    head = _head(source)
    path = source.path
    name = runner.name
    if markers and _has_marker(head, markers):
        return AUTOCOMMIT
    if name == "goose" and _GOOSE_NO_TX.search(head):
        return AUTOCOMMIT
    if name == "dbmate" and _DBMATE_NO_TX.search(head):
        return AUTOCOMMIT
    if name == "sqlx" and _SQLX_NO_TX.search(head):
        return AUTOCOMMIT
    if name == "sql-migrate" and _SQL_MIGRATE_NO_TX.search(head):
        return AUTOCOMMIT
    if name == "atlas" and _ATLAS_NO_TX.search(head):
        return AUTOCOMMIT
    if name == "liquibase" and _LIQUIBASE_NO_TX.search(head):
        return AUTOCOMMIT
    if name == "postgres-migrations" and _POSTGRES_MIGRATIONS_NO_TX in head:
        return AUTOCOMMIT
    if name == "diesel" and path is not None and _file_says(path.parent / "metadata.toml", _DIESEL_NO_TX):
        return AUTOCOMMIT
    if name == "popx" and path is not None and _POPX_AUTOCOMMIT.match(path.name):
        return AUTOCOMMIT
    if name == "flyway" and path is not None and _file_says(path.with_name(path.name + ".conf"), _FLYWAY_NO_TX):
        return AUTOCOMMIT
    if runner.transaction == PER_SCRIPT and mixed:
        return PER_SCRIPT_MIXED
    return runner.transaction


def _has_marker(head: bytes, markers: list[str]) -> bool:
    """A configured marker on a line of its own (surrounding blanks aside)."""
    lines = {line.strip() for line in head.decode("utf-8", "replace").splitlines()}
    return any(marker in lines for marker in markers)


def transaction_of(source: SourceFile, assume_in_transaction: bool) -> str:
    """How the file runs: as :func:`assign` recorded, else (a file linted without a run's runner choice)
    in one transaction exactly when assume-in-transaction says so."""
    return source.transaction or (WRAPPED if assume_in_transaction else AUTOCOMMIT)


def in_one_transaction(mode: str, statements: Sequence[Statement], postgres_version: int) -> bool:
    """Do these forward statements of a file, run the ``mode`` way, run as one transaction? A file sent as one
    query that holds a single statement does not: PostgreSQL runs a one-statement query outside a transaction
    block (checked on PostgreSQL 15), so a lone CREATE INDEX CONCURRENTLY works there. Flyway runs a script that
    holds a statement it knows cannot run in a transaction without one."""
    if mode == IMPLICIT:
        return len(statements) > 1
    if mode in (PER_SCRIPT, PER_SCRIPT_MIXED):
        return not any(flyway_runs_outside_transaction(s, postgres_version) for s in statements)
    return mode != AUTOCOMMIT


def assign(configured: str | None, assume_in_transaction: bool, files: list[SourceFile], root: Path | None = None,
           markers: list[str] | None = None, flyway_mixed: bool | None = None) -> RunnerChoice:
    """Choose the runner for a run and record on each file how it runs (files must have been read).
    ``flyway_mixed``: Flyway's ``mixed`` setting as configured; None reads it from Flyway's own config files."""
    choice = choose(configured, assume_in_transaction, files, root)
    mixed = False
    if choice.runner.transaction == PER_SCRIPT:
        mixed = flyway_mixed if flyway_mixed is not None else (root is not None and _flyway_config_mixed(root))
    for f in files:
        f.transaction = file_transaction(choice.runner, f, markers, mixed)
    return choice


# Flyway's own configuration: flyway.conf / flyway.toml (the CLI) or Spring Boot's application.properties/.yml
_FLYWAY_CONFIGS = ("flyway.conf", "conf/flyway.conf", "flyway.toml", "conf/flyway.toml",
                   "src/main/resources/application.properties", "src/main/resources/application.yml",
                   "src/main/resources/application.yaml")
_FLYWAY_MIXED = re.compile(r"(?im)^[ \t]*(?:spring\.)?(?:flyway\.)?mixed[ \t]*[=:][ \t]*\"?true\b")


def _flyway_config_mixed(root: Path) -> bool:
    """Does the project's Flyway configuration set ``mixed = true``?"""
    return any(_file_says(root / name, _FLYWAY_MIXED) for name in _FLYWAY_CONFIGS)


def _file_says(path: Path, pattern: re.Pattern[str]) -> bool:
    memo.note_file(path)
    try:
        return bool(pattern.search(path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


__all__ = ["AUTOCOMMIT", "IMPLICIT", "PER_SCRIPT", "PER_SCRIPT_MIXED", "RUNNERS", "UNKNOWN", "WRAPPED", "Runner", "RunnerChoice", "assign", "choose",
           "detect", "file_transaction", "in_one_transaction", "transaction_of"]
