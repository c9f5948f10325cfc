"""Finding migration files, putting them in migration order, pairing up/down files, decoding."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from schemalint import memo

_DIGITS = re.compile(r"(\d+)")
# Folders never searched when walking a directory (hidden ones are skipped too); naming one explicitly still works.
SKIPPED_DIRS = frozenset(("node_modules", "venv", "site-packages", "__pycache__", "__pypackages__"))
_FLYWAY_UNDO = re.compile(r"^U(\d[\d._]*)__(.+\.sql)$")


@dataclass(frozen=True, slots=True)
class AtRef:
    """A forward migration file of the run, as it was at REF."""

    ref: str
    existed: bool  # this path existed at REF
    old_text: str | None = None  # what it said at REF, when it changed since (or what the renamed file said)
    renamed_from: str | None = None  # the path at REF it was renamed from (relative to the repository)
    precedes: str | None = None  # added since REF: the newest forward file existing at REF that sorts after it

    def cache_token(self) -> str:
        digest = hashlib.sha256(self.old_text.encode("utf-8", "surrogateescape")).hexdigest() if self.old_text else ""
        return f"{self.ref}|{self.existed}|{digest}|{self.renamed_from}|{self.precedes}"


class SourceError(Exception):
    """A path or git problem that stops the run (exit code 2)."""


@dataclass(slots=True)
class SourceFile:
    display: str  # the path as the user gave it (relative stays relative)
    path: Path | None  # None for standard input
    role: str = "up"  # "up" (forward migration) or "down" (rollback file)
    up_sibling: Path | None = None  # for a rollback file: the forward file it undoes
    down_sibling: Path | None = None  # for a forward file: its rollback file, if any
    judged: bool = True  # False: read for the schema model only (--since)
    data: bytes | None = None  # content, once read (stdin is read up front)
    transaction: str | None = None  # how the runner runs it: "wrapped", "implicit", "autocommit" (runners.py)
    baseline: bool = False  # the configured schema dump read first as history (never judged)
    unreadable: str | None = None  # why it cannot be read (a FIFO, too large, a folder that cannot be listed)
    at_ref: AtRef | None = None  # with --since: what git knew of it at the ref (gitref.py)
    shared_with: str | None = None  # other databases that run this file too (popx: no dialect in its name)


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str | None
    error: str | None


NaturalKey = tuple[tuple[int, int | str], ...]
MigrationKey = tuple[tuple[int, tuple[int | str, ...], NaturalKey], ...]
_LEADING_VERSION = re.compile(r"^\d+(?:[-_.]\d+)*")
_FLYWAY_NAME = re.compile(r"^(?:[VU](?P<version>\d+(?:[._]\d+)*)|(?P<repeatable>R))__(?P<rest>.*)$")


def printable_path(path: str) -> str:
    """A path for reports: bytes that are not UTF-8 (os.fsdecode's surrogates) become U+FFFD, so every
    output format stays valid UTF-8; the file itself is still read through its real path."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return path


def natural_key(text: str) -> NaturalKey:
    """Sort key that puts ``2_x.sql`` before ``10_x.sql``."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(text) if part)


def _version(digits: str) -> tuple[int | str, ...]:
    """A short number compares as a number (2 before 10); a timestamp of 8 or more digits digit by digit,
    so 2023-01-01-000000-0000 (18 digits) still sorts before 20240101000000 (14)."""
    if len(digits) < 8:
        return 0, int(digits)
    return 1, digits.ljust(24, "0")


def _component_key(part: str) -> tuple[int, tuple[int | str, ...], NaturalKey]:
    flyway = _FLYWAY_NAME.match(part)
    if flyway is not None:
        if flyway.group("repeatable"):
            return 2, (), natural_key(flyway.group("rest"))  # Flyway: repeatable scripts after every versioned one
        version = tuple(int(n) for n in re.split(r"[._]", flyway.group("version")))
        return 0, (2, *version), natural_key(flyway.group("rest"))  # V1_10 after V1_9: part by part
    leading = _LEADING_VERSION.match(part)
    if leading is not None:
        # a leading version of digits and separators compares as its digits: 2019-06-14-175833_x and
        # 20190614175833_y are both 20190614175833 (projects that switched timestamp styles keep their order)
        return 0, _version(re.sub(r"\D", "", leading.group())), natural_key(part[leading.end():])
    return 1, (), natural_key(part)


def project_root(first: Path, config: Path | None) -> Path:
    """The project a run checks: the config file's folder, else the git repository holding the first named path,
    else the current folder when that path is inside it, else that path's folder. Evidence (runner manifests)
    and history are never looked for above it, and symlinks that leave it are not followed."""
    if config is not None:
        return config.parent.absolute()
    start = (first if first.is_dir() else first.parent).absolute()
    for folder in [start, *start.parents]:
        memo.note_exists(folder / ".git")
        if (folder / ".git").exists():
            return folder
    here = Path.cwd().absolute()
    return here if start == here or here in start.parents else start


_MIGRATION_NAME = re.compile(r"^(\d[\d_.-]*[_-]|V\d[\d._]*__|R__|U\d)|^(up|down|migration)\.sql$", re.I)


def migration_folders(root: Path) -> list[str]:
    """The folders under ``root`` that hold migrations (files named with a leading version, Flyway names, or
    ``up.sql``/``migration.sql`` in versioned folders), relative to it, outermost first; seeds and dumps (no
    version in their names) are not migrations."""
    try:
        found = collect([str(root)], ["*.sql"], [])
    except SourceError:
        return []
    folders: dict[str, None] = {}
    for source in found:
        if source.path is None or source.role != "up":
            continue
        named = source.path.name if source.path.name.lower() not in ("up.sql", "migration.sql") else \
            source.path.parent.name
        if not _MIGRATION_NAME.match(named) and source.path.name.lower() not in ("up.sql", "migration.sql"):
            continue
        folder = history_folder(source.path)
        if source.path.name.lower() == "migration.sql":  # prisma: <migrations>/<timestamp>_name/migration.sql
            folder = source.path.parent.parent
        try:
            folders.setdefault(folder.relative_to(root).as_posix() or ".", None)
        except ValueError:
            continue
    return [f for f in folders if not any(f.startswith(other + "/") for other in folders if other != f)]


def history_folder(path: Path) -> Path:
    """Where a migration's earlier migrations are: its folder, or for ``<version>_name/up.sql`` layouts
    (diesel, golang-migrate folders) the folder of those folders."""
    return path.parent.parent if path.name.lower() in ("up.sql", "down.sql") else path.parent


def migration_key(path: str) -> MigrationKey:
    """The order a runner applies files in (the catalogue's "migration order"), per path component."""
    return tuple(_component_key(part) for part in path.replace(os.sep, "/").split("/") if part not in ("", "."))


# popx: <version>_<name>[.autocommit].(up|down).sql names no database, so every database's runner runs it
_POPX_SHARED = re.compile(r"^\d+_[^.]+(\.autocommit)?\.(up|down)\.sql$", re.I)
_POPX_PART = re.compile(r"^(?P<stem>.+?)(?P<dialect>\.postgres)?(?P<autocommit>\.autocommit)?\.(?P<role>up|down)\.sql$",
                        re.I)


def rollback_partner(path: Path) -> Path | None:
    """For a rollback file, the forward file it belongs to (which may not exist). A generic ``X.down.sql`` belongs
    to ``X.up.sql``, or to ``X.postgres.up.sql`` when only that exists (popx)."""
    name = path.name
    lower = name.lower()
    if lower == "down.sql":
        return path.with_name("up.sql")
    if lower.endswith(".down.sql"):
        up = path.with_name(name[: -len(".down.sql")] + ".up.sql")
        match = _POPX_PART.match(name)
        if match is not None and not match.group("dialect") and not up.exists():
            for postgres in (f"{match.group('stem')}.postgres.up.sql", f"{match.group('stem')}.postgres.autocommit.up.sql"):
                if path.with_name(postgres).exists():
                    return path.with_name(postgres)
        return up
    if lower.endswith("_down.sql"):
        return path.with_name(name[: -len("_down.sql")] + "_up.sql")
    match = _FLYWAY_UNDO.match(name)
    if match:
        return path.with_name(f"V{match.group(1)}__{match.group(2)}")
    return None


def forward_partner_candidates(path: Path) -> list[Path]:
    name = path.name
    lower = name.lower()
    if lower == "up.sql":
        return [path.with_name("down.sql")]
    if lower.endswith(".up.sql"):
        own = path.with_name(name[: -len(".up.sql")] + ".down.sql")
        match = _POPX_PART.match(name)
        if match is not None and match.group("dialect"):  # X.postgres.up.sql: its own down file, else X.down.sql
            return [own, path.with_name(f"{match.group('stem')}.down.sql")]
        return [own]
    if lower.endswith("_up.sql"):
        return [path.with_name(name[: -len("_up.sql")] + "_down.sql")]
    if name.startswith("V") and "__" in name:
        return [path.with_name("U" + name[1:])]
    return []


# Files for another database: named for it (popx: X.mysql.up.sql) or kept in a folder named for it (mysql/).
OTHER_DATABASES = ("mysql", "mariadb", "sqlite3", "sqlite", "cockroach", "cockroachdb", "mssql", "sqlserver",
                   "oracle", "tidb", "clickhouse")
_OTHER_IN_NAME = re.compile(r"\.(" + "|".join(OTHER_DATABASES) + r")(\.autocommit)?\.(up|down)\.sql$|\.("
                            + "|".join(OTHER_DATABASES) + r")\.sql$", re.I)


def other_database(rel: str) -> str | None:
    """The other database a file is for (``mysql``), by its name or a folder on its path; None for PostgreSQL
    (and for files that name no database)."""
    name = rel.rsplit("/", 1)[-1]
    match = _OTHER_IN_NAME.search(name)
    if match is not None:
        return (match.group(1) or match.group(4)).lower()
    for part in rel.split("/")[:-1]:
        if part.lower() in OTHER_DATABASES:
            return part.lower()
    return None


def _matcher(patterns: list[str]) -> Callable[[str], bool]:
    """One compiled test for a list of globs, matched against a path relative to the walked folder and its name."""
    if not patterns:
        return lambda rel: False
    compiled = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))

    def matches(rel: str) -> bool:
        return compiled.match(rel) is not None or compiled.match(rel.rsplit("/", 1)[-1]) is not None
    return matches


_ENGINE_SPECIFIC_SQL = re.compile(r"\.sql\.[A-Za-z][\w-]*$", re.I)


@dataclass(slots=True)
class Walk:
    """What a walk finds besides migrations, and the bounds it keeps."""

    not_checked: list[str] = field(default_factory=list)  # SQL for one engine (x.sql.postgres) the include missed
    other_databases: list[tuple[str, str]] = field(default_factory=list)  # (path, database) skipped, never read
    outside: list[str] = field(default_factory=list)  # symlinked folders that lead outside ``confine``: not followed
    confine: str | None = None  # the real path every followed folder and read file stays inside (the project)
    max_files: int | None = None  # stop after this many migration files (history: max-history-files)
    truncated: bool = False  # the walk stopped at max_files


def inside(real: str, confine: str | None) -> bool:
    return confine is None or real == confine or real.startswith(confine.rstrip("/") + "/")


def collect(paths: list[str], include: list[str], exclude: list[str], walk: Walk | None = None) -> list[SourceFile]:
    """Expand files and folders into migration-ordered source files, in one pass of ``os.scandir`` over string
    paths. Files for another database (``x.mysql.up.sql``, ``mysql/x.sql``) are never read; symlinks that lead out
    of ``walk.confine`` are never followed (a file there is an unreadable SL002); ``walk`` gathers what was left
    out, so the run can say so."""
    walk = walk or Walk()
    included, excluded = _matcher(include), _matcher(exclude)
    found: dict[str, SourceFile] = {}
    dialects: dict[str, set[str]] = {}  # folder → the other databases whose files it holds
    seen: set[tuple[int, int]] = set()  # (device, inode): one file reached by two spellings is read once
    folders_seen: set[tuple[int, int]] = set()

    def add(display: str, file_path: str, real: str | None = None) -> None:
        if real is not None and not inside(real, walk.confine):
            found.setdefault(display, SourceFile(display, Path(file_path), unreadable=(
                "a symlink that points outside the project: not read")))
            return
        try:
            info = os.stat(file_path)
        except OSError:
            info = None
        if info is not None and stat.S_ISREG(info.st_mode):
            if (info.st_dev, info.st_ino) in seen:
                return
            seen.add((info.st_dev, info.st_ino))
        found.setdefault(display, SourceFile(display, Path(file_path)))

    def walk_folder(base: str, shown: str, folder: str, rel_folder: str) -> None:
        try:
            here = os.stat(folder)
            memo.note_dir(folder, here)
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            display = printable_path(shown if not rel_folder else f"{shown.rstrip('/')}/{rel_folder}".lstrip("/"))
            found.setdefault(display, SourceFile(display, Path(folder), unreadable=(
                f"cannot read folder: {error.strerror or error}; its migrations were not checked")))
            return
        if (here.st_dev, here.st_ino) in folders_seen:  # a symlinked folder reached twice (or a loop back up)
            return
        folders_seen.add((here.st_dev, here.st_ino))
        subfolders: list[tuple[str, str]] = []
        for entry in entries:
            name = entry.name
            rel = f"{rel_folder}/{name}" if rel_folder else name
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            if is_dir:
                if name.startswith(".") or name in SKIPPED_DIRS or excluded(rel) or excluded(rel + "/"):
                    continue
                if entry.is_symlink() and not inside(os.path.realpath(entry.path), walk.confine):
                    walk.outside.append(f"{shown.rstrip('/')}/{rel}" if shown not in (".", "") else rel)
                    continue
                subfolders.append((entry.path, rel))
                continue
            if excluded(rel):
                continue
            if not included(rel):
                if _ENGINE_SPECIFIC_SQL.search(name):
                    walk.not_checked.append(f"{shown}/{rel}" if shown not in (".", "") else rel)
                continue
            database = other_database(rel)
            if database is not None:
                walk.other_databases.append((rel, database))
                if _OTHER_IN_NAME.search(name):  # popx: X.mysql.up.sql beside X.up.sql
                    dialects.setdefault(os.path.normpath(folder), set()).add(database)
                continue
            try:
                if not entry.is_file():
                    continue
                real = os.path.realpath(entry.path) if entry.is_symlink() else None
            except OSError:
                continue
            if walk.max_files is not None and len(found) >= walk.max_files:
                walk.truncated = True
                return
            display = printable_path(f"{shown}/{rel}" if shown not in (".", "") else rel)
            add(display, entry.path, real)
        for sub, rel in subfolders:
            if walk.truncated:
                return
            walk_folder(base, shown, sub, rel)

    for given in paths:
        path = Path(given)
        if not os.path.lexists(path):
            raise SourceError(f"{given}: no such file or directory")
        if path.is_dir():
            shown = path.as_posix()  # "./db/" → "db"; "." stays "."
            walk_folder(str(path), shown, str(path), "")
            continue
        database = other_database(path.as_posix())
        if database is not None:
            walk.other_databases.append((path.as_posix(), database))
            continue
        real = os.path.realpath(path) if path.is_symlink() else None
        add(printable_path(path.as_posix()), str(path), real)
    for source in found.values():
        # popx: a file that names no dialect, beside files that do, runs on every database
        if source.path is None or not _POPX_SHARED.match(source.path.name):
            continue
        others = dialects.get(os.path.normpath(os.path.dirname(str(source.path))))
        if others:
            source.shared_with = ", ".join(sorted(others))
    return order(list(found.values()))


def _key_path(path: Path) -> str:
    return os.path.normpath(os.path.abspath(path))


def order(files: list[SourceFile]) -> list[SourceFile]:
    """Migration order (:func:`migration_key`); a rollback file sorts right after its forward file."""
    by_path = {_key_path(f.path): f for f in files if f.path is not None}
    for f in files:
        if f.path is None:
            continue
        memo.note_dir(f.path.parent)  # a rollback sibling created beside it changes the pairing
        partner = rollback_partner(f.path)
        if partner is not None:
            f.role = "down"
            f.up_sibling = partner
            up = by_path.get(_key_path(partner))
            if up is not None:
                up.down_sibling = f.path
        elif f.down_sibling is None:
            for candidate in forward_partner_candidates(f.path):
                if _key_path(candidate) in by_path or candidate.exists():
                    f.down_sibling = candidate
                    break

    def key(f: SourceFile) -> tuple[MigrationKey, int]:
        if f.role == "down" and f.up_sibling is not None:
            return migration_key(os.path.normpath(_display_like(f, f.up_sibling))), 1
        return migration_key(os.path.normpath(f.display)), 0

    return sorted(files, key=key)


def _display_like(f: SourceFile, other: Path) -> str:
    base = f.display.rsplit("/", 1)[0] if "/" in f.display else ""
    return f"{base}/{other.name}" if base else other.name


def decode(data: bytes) -> Decoded:
    """UTF-8 after an optional BOM; anything else is unreadable (SL002)."""
    offset = 0
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        offset = 3
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Decoded(None, f"not valid UTF-8: byte 0x{data[exc.start]:02x} at byte offset {exc.start + offset}")
    nul = text.find("\x00")
    if nul >= 0:
        return Decoded(None, f"contains a NUL byte at byte offset {len(text[:nul].encode()) + offset}: not a SQL text file")
    return Decoded(text, None)


MAX_FILE_SIZE = 64 * 1024 * 1024  # bytes: the default of the config key max-file-size
_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


def read_bytes(path: Path, limit: int = MAX_FILE_SIZE) -> tuple[bytes | None, str | None]:
    """The file's bytes, or why not: only regular files are opened (a FIFO or /dev/zero would hang or grow
    without end), and never more than ``limit`` bytes."""
    try:
        info = os.stat(path)
    except OSError as exc:
        memo.note_file(path)
        return None, f"cannot read file: {exc.strerror or exc}"
    memo.note_file(path, info)
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a file")
        return None, f"not a regular file: {kind}"
    if info.st_size > limit:
        return None, f"too large: {info.st_size:,} bytes (max-file-size is {limit:,})"
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        return None, f"cannot read file: {exc.strerror or exc}"
    if len(data) > limit:
        return None, f"too large: more than {limit:,} bytes (max-file-size)"
    return data, None


def read(source: SourceFile) -> Decoded:
    if source.unreadable is not None:
        return Decoded(None, source.unreadable)
    if source.data is None:
        if source.path is None:
            return Decoded(None, "no input")
        data, error = read_bytes(source.path)
        if data is None:
            return Decoded(None, error)
        source.data = data
    return decode(source.data)
