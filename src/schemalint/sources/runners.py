"""Migration runners: which one a project uses (configured, or detected from what is on disk), and how it
runs each file: wrapped in one transaction, sent as one multi-statement query (which PostgreSQL runs as
one implicit transaction), or statement by statement in autocommit. Per-file opt-outs are honoured."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from schemalint.sources.files import SourceFile

AUTOCOMMIT, WRAPPED, IMPLICIT = "autocommit", "wrapped", "implicit"


@dataclass(frozen=True, slots=True)
class Runner:
    name: str
    transaction: str  # how it runs a file without an opt-out: WRAPPED, IMPLICIT or AUTOCOMMIT
    opt_out: str  # how a file asks to run outside a transaction (for messages and the README)

    def describe_transaction(self) -> str:
        if self.transaction == WRAPPED:
            return f"{self.name} wraps each file in a transaction"
        if self.transaction == IMPLICIT:
            return (f"{self.name} sends each file as one multi-statement query, which PostgreSQL runs as one "
                    f"implicit transaction")
        return f"{self.name} runs each statement on its own (autocommit)"


RUNNERS: dict[str, Runner] = {r.name: r for r in (
    Runner("psql", AUTOCOMMIT, "nothing to do: psql commits each statement on its own"),
    Runner("flyway", WRAPPED, "executeInTransaction=false in the script's .sql.conf file"),
    Runner("golang-migrate", IMPLICIT, "a file of its own: golang-migrate cannot run a file outside a transaction "
                                       "except statement by statement (x-multi-statement=true)"),
    Runner("goose", WRAPPED, "-- +goose NO TRANSACTION at the top of the file"),
    Runner("dbmate", WRAPPED, "-- migrate:up transaction:false"),
    Runner("diesel", WRAPPED, "run_in_transaction = false in the migration's metadata.toml"),
    Runner("sqlx", WRAPPED, "-- no-transaction as the first line of the file"),
    Runner("popx", WRAPPED, ".autocommit in the file name (<version>_<name>.postgres.autocommit.up.sql)"),
    Runner("prisma", IMPLICIT, "a migration of its own, applied with prisma db execute or outside Prisma"),
    Runner("alembic", WRAPPED, "with op.get_context().autocommit_block(): around the statement"),
    Runner("django", WRAPPED, "atomic = False on the Migration class"),
    Runner("rails", WRAPPED, "disable_ddl_transaction! in the migration class"),
)}


@dataclass(frozen=True, slots=True)
class RunnerChoice:
    runner: Runner
    reason: str  # "configured", "detected from -- +goose markers", …

    @property
    def summary(self) -> str:
        return f"{self.runner.name} ({self.reason})"


_HEAD = 65_536  # bytes of each file looked at for markers (they sit at the top)
_GOOSE = re.compile(rb"(?im)^[ \t]*--[ \t]*\+goose[ \t]+(up|down)\b")
_GOOSE_NO_TX = re.compile(rb"(?im)^[ \t]*--[ \t]*\+goose[ \t]+no[ \t]+transaction\b")
_DBMATE = re.compile(rb"(?im)^[ \t]*--[ \t]*migrate:up\b")
_DBMATE_NO_TX = re.compile(rb"(?im)^[ \t]*--[ \t]*migrate:up\b[^\n]*\btransaction:false\b")
_SQLX_NO_TX = re.compile(rb"\A(?:\xef\xbb\xbf)?[ \t]*--[ \t]*no-transaction[ \t]*\r?$", re.M)
_FLYWAY_NAME = re.compile(r"^[VR]\d*[\d._]*__.+\.sql$")
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


def _head(source: SourceFile) -> bytes:
    return (source.data or b"")[:_HEAD]


def _ancestor_has(start: Path, name: str, depth: int = 6, containing: str | None = None,
                  seen: dict[Path, bool] | None = None) -> bool:
    """Whether ``start`` or a folder above it (``depth`` in all) holds ``name`` (containing ``containing``);
    ``seen`` remembers folders already looked at, so a thousand migrations in one folder cost one look."""
    if seen is not None and start in seen:
        return seen[start]
    found = any(_holds(folder / name, containing) for folder in [start, *start.absolute().parents][:depth])
    if seen is not None:
        seen[start] = found
    return found


def _holds(candidate: Path, containing: str | None) -> bool:
    return candidate.is_file() and (containing is None or _file_says(candidate, re.compile(re.escape(containing))))


def detect(files: list[SourceFile]) -> RunnerChoice | None:
    """The runner what is on disk shows, or None. Content markers first (they are unambiguous), then
    file and folder layouts."""
    paths = [f.path for f in files if f.path is not None]
    heads = [_head(f) for f in files]
    # a plain substring test first (fast), the anchored pattern only where it might match
    if any(_GOOSE.search(h) for h in heads if b"+goose" in h or b"+GOOSE" in h):
        return RunnerChoice(RUNNERS["goose"], "detected from -- +goose markers")
    if any(_DBMATE.search(h) for h in heads if b"migrate:" in h):
        return RunnerChoice(RUNNERS["dbmate"], "detected from -- migrate:up markers")
    for path in paths:
        if (path.name == "migration.sql" and _PRISMA_FOLDER.match(path.parent.name)
                and (path.parent.parent / "migration_lock.toml").is_file()):
            return RunnerChoice(RUNNERS["prisma"], "detected from migration_lock.toml beside timestamped "
                                                   "migration.sql folders")
    diesel_toml: dict[Path, bool] = {}
    for path in paths:
        if path.name in ("up.sql", "down.sql") and _VERSIONED_FOLDER.match(path.parent.name) and (
                (path.parent / "metadata.toml").is_file() or _ancestor_has(path.parent.parent, "diesel.toml",
                                                                           seen=diesel_toml)):
            return RunnerChoice(RUNNERS["diesel"], "detected from <version>_name/up.sql folders with diesel.toml "
                                                   "or metadata.toml")
    if any(_FLYWAY_VERSIONED.match(path.name) for path in paths):
        return RunnerChoice(RUNNERS["flyway"], "detected from V<version>__name.sql file names")
    numbered = [p for p in paths if _SQLX_NAME.match(p.name)]
    if numbered and _ancestor_has(numbered[0].parent, "Cargo.toml", containing="sqlx"):
        return RunnerChoice(RUNNERS["sqlx"], "detected from numbered migrations beside a Cargo.toml that uses sqlx")
    if any(_POPX_NAME.match(p.name) for p in paths):
        return RunnerChoice(RUNNERS["popx"], "detected from <version>_<name>.<dialect>.up.sql file names")
    if any(_UP_DOWN_PAIR.match(p.name) for p in paths):
        return RunnerChoice(RUNNERS["golang-migrate"], "detected from N_name.up.sql / N_name.down.sql pairs")
    return None


def choose(configured: str | None, assume_in_transaction: bool, files: list[SourceFile]) -> RunnerChoice:
    if configured is not None:
        return RunnerChoice(RUNNERS[configured], "configured")
    if assume_in_transaction:
        return RunnerChoice(Runner("assume-in-transaction", WRAPPED, "a file of its own that your runner does not "
                                   "wrap in a transaction"), "configured: each file in one transaction")
    detected = detect(files)
    if detected is not None:
        return detected
    return RunnerChoice(RUNNERS["psql"], "default: no runner detected, each statement commits on its own")


def file_transaction(runner: Runner, source: SourceFile) -> str:
    """How ``runner`` runs this file: its default, unless the file opts out of the transaction."""
    if source.role != "up" or runner.transaction == AUTOCOMMIT:
        return AUTOCOMMIT
    head = _head(source)
    path = source.path
    name = runner.name
    if name == "goose" and _GOOSE_NO_TX.search(head):
        return AUTOCOMMIT
    if name == "dbmate" and _DBMATE_NO_TX.search(head):
        return AUTOCOMMIT
    if name == "sqlx" and _SQLX_NO_TX.search(head):
        return AUTOCOMMIT
    if name == "diesel" and path is not None and _file_says(path.parent / "metadata.toml", _DIESEL_NO_TX):
        return AUTOCOMMIT
    if name == "popx" and path is not None and _POPX_AUTOCOMMIT.match(path.name):
        return AUTOCOMMIT
    if name == "flyway" and path is not None and _file_says(path.with_name(path.name + ".conf"), _FLYWAY_NO_TX):
        return AUTOCOMMIT
    return runner.transaction


def transaction_of(source: SourceFile, assume_in_transaction: bool) -> str:
    """How the file runs: as :func:`assign` recorded, else (a file linted without a run's runner choice)
    in one transaction exactly when assume-in-transaction says so."""
    return source.transaction or (WRAPPED if assume_in_transaction else AUTOCOMMIT)


def assign(configured: str | None, assume_in_transaction: bool, files: list[SourceFile]) -> RunnerChoice:
    """Choose the runner for a run and record on each file how it runs (files must have been read)."""
    choice = choose(configured, assume_in_transaction, files)
    for f in files:
        f.transaction = file_transaction(choice.runner, f)
    return choice


def _file_says(path: Path, pattern: re.Pattern[str]) -> bool:
    try:
        return bool(pattern.search(path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False



__all__ = ["AUTOCOMMIT", "IMPLICIT", "RUNNERS", "WRAPPED", "Runner", "RunnerChoice", "assign", "choose", "detect",
           "file_transaction", "transaction_of"]
