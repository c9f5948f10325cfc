"""Framework sources: the SQL that Django and Alembic render from Python migrations, judged like ``.sql`` files in
the order the framework applies them, with each finding moved back to the ``.py`` file and the line of the
operation that emitted the statement.

The SQL is rendered by an extractor that runs in the project's own interpreter (``--python``, default the one
running schemalint) as a separate process: the user's project is never imported into schemalint's process. It
never connects to a database; when Django would ask the database's catalogue for a constraint's name, this
module answers from a schema model fed with the SQL rendered so far."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemalint.findings import Finding, Span
from schemalint.model import replay
from schemalint.model.schema import SchemaModel
from schemalint.sources.files import SourceError, SourceFile, project_root
from schemalint.sources.runners import AUTOCOMMIT, WRAPPED
from schemalint.sql.parse import parse
from schemalint.sql.text import SourceText

EXTRACT_TIMEOUT = 600  # seconds for the whole extraction
# The house guide's conventions for .sql files (name, header, rollback section, audit columns, naming): the
# frameworks have their own, so these apply to framework sources only when selected by code.
HOUSE_CONVENTIONS = frozenset(("SL010", "SL011", "SL012", "SL402", "SL405"))
# The framework's own safe form, added to the help of what it would otherwise say in plain SQL.
DJANGO_HELP = {
    "SL102": "In Django: AddIndexConcurrently (django.contrib.postgres.operations) in a migration with "
             "atomic = False.",
    "SL103": "In Django: RemoveIndexConcurrently (django.contrib.postgres.operations) in a migration with "
             "atomic = False.",
    "SL104": "In Django: put it in a migration of its own with atomic = False.",
    "SL105": "In Django: AddConstraintNotValid, then ValidateConstraint in a later migration "
             "(django.contrib.postgres.operations).",
    "SL106": "In Django: AddConstraintNotValid, then ValidateConstraint in a later migration "
             "(django.contrib.postgres.operations).",
    "SL211": "In Django: keep a database default with db_default= (Django 5.0+), so inserts from code that does not "
             "know the column still work.",
}


ALEMBIC_HELP = {
    "SL102": "In Alembic: op.create_index(..., postgresql_concurrently=True) inside "
             "`with op.get_context().autocommit_block():`.",
    "SL103": "In Alembic: op.drop_index(..., postgresql_concurrently=True) inside "
             "`with op.get_context().autocommit_block():`.",
    "SL104": "In Alembic: run it inside `with op.get_context().autocommit_block():`.",
    "SL105": "In Alembic: op.create_foreign_key(..., postgresql_not_valid=True), then "
             "op.execute('ALTER TABLE … VALIDATE CONSTRAINT …') in a later revision.",
    "SL106": "In Alembic: op.create_check_constraint(..., postgresql_not_valid=True), then VALIDATE in a later "
             "revision.",
}


@dataclass(frozen=True, slots=True)
class Operation:
    first_line: int  # the rendered SQL's lines this operation emitted (1-based, inclusive)
    last_line: int
    line: int  # the operation's line in the .py file
    description: str


@dataclass(slots=True)
class Origin:
    """Where a rendered file came from: the migration's .py file and its operations."""

    framework: str
    python_text: str
    operations: list[Operation] = field(default_factory=list)
    sql_text: str = ""  # what was rendered (the source file's data is dropped once it is parsed)

    def operation_at(self, sql_line: int) -> Operation | None:
        return next((op for op in self.operations if op.first_line <= sql_line <= op.last_line), None)


@dataclass(slots=True)
class Rendered:
    files: list[SourceFile]
    origins: dict[str, Origin]  # display path → origin
    notes: list[str]
    detail: str  # for the summary: "django 5.2.19 (settings shop_project.settings)"
    labels: dict[str, str] = field(default_factory=dict)  # display path → "app.0002_name" (Django)

    def judge_only(self, selected: set[str]) -> None:
        """Judge only the migrations whose display path is selected; the rest are history, and what the summary
        says about them (RunPython not checked, …) is left out."""
        for source in self.files:
            source.judged = source.judged and source.display in selected
        unjudged = tuple(f"{source.display}:" for source in self.files if not source.judged)
        self.notes = [note for note in self.notes if not note.startswith(unjudged)] if unjudged else self.notes

    def select(self, selectors: list[str], files: list[Path]) -> None:
        """What the command line named: Django's ``app`` or ``app.0002`` (a migration name or a unique prefix of
        one, as ``manage.py migrate`` takes it) and migration files."""
        wanted = {path.resolve() for path in files}
        selected = {s.display for s in self.files if s.path is not None and s.path.resolve() in wanted}
        for selector in selectors:
            app, _, name = selector.partition(".")
            matches = [d for d, label in self.labels.items()
                       if label.partition(".")[0] == app and label.partition(".")[2].startswith(name)]
            exact = [d for d in matches if self.labels[d] == selector]
            if name and len(matches) > 1 and not exact:
                raise SourceError(f"{selector}: more than one migration starts with {name!r} in {app}")
            if not matches:
                apps = ", ".join(sorted({label.partition(".")[0] for label in self.labels.values()}))
                raise SourceError(f"{selector}: no such migration (apps: {apps or 'none'})")
            selected.update(exact or matches)
        rendered = {s.path.resolve() for s in self.files if s.path is not None}
        others = [str(path) for path in files if path.resolve() not in rendered]
        self.judge_only(selected)
        if others:  # migrations/__init__.py, env.py, … named by a hook that passes every changed .py file
            shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
            self.notes.append(f"not a migration of this project, not checked: {shown}")


def detect(paths: list[str], config: Path | None = None) -> tuple[str, str] | None:
    """(framework, evidence): ``django`` when a named folder holds manage.py and apps with
    ``migrations/0001_*.py``, ``alembic`` when it holds alembic.ini; for a named ``.py`` file, the nearest folder
    above it, within its project (:func:`project_root`), that does."""
    for given in paths or ["."]:
        path = Path(given)
        if path.is_dir():
            found = _framework_of(path)
        elif path.suffix == ".py" and path.is_file():
            above = project_above(path, config)
            found = above[1] if above is not None else None
        else:
            continue
        if found is not None:
            return found
    return None


MARKERS = {"django": "manage.py", "alembic": "alembic.ini"}  # the file a framework's project folder holds


def project_above(path: Path, config: Path | None, framework: str | None = None) -> tuple[Path, tuple[str, str]] | None:
    """The nearest folder above a file, inside its project (:func:`project_root`), that holds a framework's
    project — any detected one, or ``framework``'s marker file when it is named — with (framework, evidence)."""
    top = project_root(path, config).resolve()
    for folder in path.resolve().parents:  # from the file upwards: once outside the project, always outside
        if folder != top and top not in folder.parents:
            return None
        found = _framework_of(folder) if framework is None else \
            ((framework, MARKERS[framework]) if (folder / MARKERS[framework]).is_file() else None)
        if found is not None:
            return folder, found
    return None


def _framework_of(folder: Path) -> tuple[str, str] | None:
    if (folder / MARKERS["django"]).is_file() and any(folder.glob("*/migrations/0001_*.py")):
        return "django", MARKERS["django"]
    if (folder / MARKERS["alembic"]).is_file():
        return "alembic", MARKERS["alembic"]
    return None


def django_sources(root: Path, settings_module: str | None, database: str, python: str | None,
                   target_postgres: int, default_schema: str) -> Rendered:
    script = Path(__file__).resolve().parent.parent / "frameworks" / "django_extract.py"
    command = [python or sys.executable, str(script), "--database", database, "--target", str(target_postgres),
               "--root", str(root)]
    if settings_module:
        command += ["--settings", settings_module]
    elif not os.environ.get("DJANGO_SETTINGS_MODULE"):
        settings_module = _settings_from_manage(root)
        if settings_module:
            command += ["--settings", settings_module]
    result = _converse(command, root, default_schema, "django")
    rendered = Rendered([], {}, [], f"django {result.get('django')} (settings {settings_module or 'from the environment'})")
    for migration in result.get("migrations") or []:
        _add_migration(rendered, migration, "django")
    return rendered


def alembic_sources(root: Path, config: str | None, python: str | None) -> Rendered:
    """An Alembic project's revisions rendered offline (``upgrade --sql``'s way), one file per revision."""
    script = Path(__file__).resolve().parent.parent / "frameworks" / "alembic_extract.py"
    config = config or MARKERS["alembic"]
    if not (root / config).is_file():
        raise SourceError(f"alembic: {root / config}: no such config file")
    command = [python or sys.executable, str(script), "--config", config, "--root", str(root)]
    result = _converse(command, root, "public", "alembic")
    rendered = Rendered([], {}, list(result.get("notes") or []), f"alembic {result.get('alembic')}")
    for migration in result.get("migrations") or []:
        _add_migration(rendered, migration, "alembic")
    if not result.get("per_migration") and len(rendered.files) > 1:
        rendered.notes.append("alembic runs every pending revision in one transaction (env.py does not set "
                              "transaction_per_migration=True): a lock a revision takes is held until the last one "
                              "ends; each revision is judged as its own transaction")
    return rendered


def _settings_from_manage(root: Path) -> str | None:
    """The settings module manage.py names in ``os.environ.setdefault("DJANGO_SETTINGS_MODULE", "…")``."""
    import ast

    try:
        tree = ast.parse((root / "manage.py").read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and len(node.args) == 2 and all(isinstance(a, ast.Constant) for a in node.args):
            key, value = (a.value for a in node.args)  # type: ignore[attr-defined]
            if key == "DJANGO_SETTINGS_MODULE" and isinstance(value, str):
                return value
    return None


def _converse(command: list[str], root: Path, default_schema: str, framework: str) -> dict[str, Any]:
    """Run the extractor, answering its catalogue questions, until it sends its result."""
    model = SchemaModel(default_schema=default_schema)
    # what the project prints goes to a file, never a pipe nobody reads while the messages are read (it would fill)
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as printed:
        try:
            process = subprocess.Popen(command, cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=printed, text=True, encoding="utf-8")
        except OSError as exc:
            raise SourceError(f"{command[0]}: cannot run the project's Python: {exc.strerror or exc}") from None
        assert process.stdin is not None and process.stdout is not None
        try:
            for line in process.stdout:
                message = json.loads(line)
                if message.get("type") == "ask":
                    _take_in(model, message.get("sql") or [])
                    table = model.rv({"relname": str(message.get("table", ""))})
                    process.stdin.write(json.dumps({"constraints": catalogue(model, table)}) + "\n")
                    process.stdin.flush()
                    continue
                if message.get("type") == "error" and message.get("missing"):
                    raise SourceError(f"{framework}: {command[0]} has no {framework} installed: pass the project's "
                                      f"interpreter with --python, or pip install 'schemalint[{framework}]' "
                                      "beside schemalint")
                if message.get("type") == "error":
                    raise SourceError(f"{framework}: cannot render the migrations: {message.get('message')}")
                return dict(message)
        except (ValueError, OSError) as exc:
            raise SourceError(f"{framework}: the extractor's answer cannot be read: {exc}") from None
        finally:
            _finish(process)
        printed.seek(0)
        said = " ".join(printed.read()[-100_000:].split())[-300:]
    raise SourceError(f"{framework}: the extractor stopped without a result: {said}")


def _finish(process: subprocess.Popen[str]) -> None:
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            stream.close()
    try:
        process.wait(timeout=EXTRACT_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()  # our own child
        process.wait()


def _take_in(model: SchemaModel, statements: list[str]) -> None:
    text = "\n".join(statements)
    for stmt in parse(text, SourceText(text)).statements:
        try:
            replay.apply(model, stmt, "<rendered>", 0)
        except Exception:  # the model never stops the extraction: an unreadable statement is just not recorded
            continue


def catalogue(model: SchemaModel, table: tuple[str, str]) -> dict[str, dict[str, Any]]:
    """A table's constraints and indexes as Django's PostgreSQL introspection describes them
    (``get_constraints``), from the schema model."""
    out: dict[str, dict[str, Any]] = {}
    known = model.tables.get(table)
    if known is not None:
        for con in known.constraints.values():
            ref = None
            if con.kind == "FOREIGN" and con.ref_table is not None:
                ref = [con.ref_table[1], con.ref_columns[0] if con.ref_columns else "id"]
            out[con.name] = {"columns": list(con.columns), "primary_key": con.kind == "PRIMARY",
                             "unique": con.kind in ("PRIMARY", "UNIQUE"), "foreign_key": ref,
                             "check": con.kind == "CHECK", "index": False, "definition": None, "options": None}
    for name, index in model.indexes.items():
        if index.table == table and name[1] not in out:
            out[name[1]] = {"columns": [c for c in index.columns if c], "orders": [], "primary_key": False,
                            "unique": index.unique, "foreign_key": None, "check": False, "index": True,
                            "type": "idx", "definition": None, "options": None}
    return out


def _add_migration(rendered: Rendered, migration: dict[str, Any], framework: str) -> None:
    path = Path(str(migration.get("file", "")))
    try:
        python_text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        python_text = ""
    try:
        display = os.path.relpath(path)
    except ValueError:
        display = str(path)
    origin = Origin(framework, python_text)
    lines: list[str] = []
    operations = migration.get("operations") or []
    # statements an Alembic autocommit_block() runs on their own; the rest of the revision is one transaction,
    # written as BEGIN … COMMIT around each stretch of them
    split = any(op.get("autocommit") for op in operations)
    in_block = False
    for op in operations:
        line = int(op.get("line") or 1)
        if op.get("python"):
            rendered.notes.append(f"{display}:{line}: {op.get('describe')} (RunPython) is Python code: not checked")
            continue
        if split and not op.get("autocommit") and not in_block:
            lines.append("BEGIN;")
            in_block = True
        elif split and op.get("autocommit") and in_block:
            lines.append("COMMIT;")
            in_block = False
        first = len(lines) + 1
        for comment in op.get("comments") or []:
            lines.append(f"-- {comment}")  # a suppression written in Python, above the operation's SQL
        for statement in op.get("sql") or []:
            lines.extend(str(statement).splitlines() or [""])
        if len(lines) >= first:
            origin.operations.append(Operation(first, len(lines), line, str(op.get("describe", ""))))
    if in_block:
        lines.append("COMMIT;")
    text = "\n".join(lines) + "\n"
    origin.sql_text = text
    source = SourceFile(display, path, data=text.encode("utf-8"))  # the .py file: --since compares it
    source.transaction = WRAPPED if migration.get("atomic", True) and not split else AUTOCOMMIT
    rendered.files.append(source)
    if migration.get("app") and migration.get("name"):
        rendered.labels[display] = f"{migration['app']}.{migration['name']}"
    rendered.origins[display] = origin


_LINE_CITED = re.compile(r"\b(at|from|since) line (\d+)\b|\(lines? ((?:\d+, )*\d+)\)")


def _cite(text: str, origin: Origin) -> str:
    """A message's "at line N" of the rendered SQL, as the operation in the .py file that emitted line N."""
    def operation(sql_line: int) -> str:
        op = origin.operation_at(sql_line)
        return f"line {op.line} ({op.description})" if op is not None else f"line {sql_line} of the rendered SQL"

    def replace(match: re.Match[str]) -> str:
        if match.group(2) is not None:
            return f"{match.group(1)} {operation(int(match.group(2)))}"
        cited = [operation(int(n)) for n in match.group(3).split(", ")]
        return "(" + ", ".join(dict.fromkeys(cited)) + ")"

    return _LINE_CITED.sub(replace, text)


def to_python(findings: list[Finding], origins: dict[str, Origin], explicitly_selected: set[str]) -> list[Finding]:
    """Each finding on rendered SQL moved to its migration's .py file, at the line of the operation that emitted
    the statement, naming the operation and quoting the SQL; no fix (the file to change is Python). The house
    conventions for .sql files are dropped unless selected by code."""
    out: list[Finding] = []
    lines: dict[str, tuple[list[str], list[str]]] = {}  # file → (.py lines, rendered SQL lines), split once
    for finding in findings:
        origin = origins.get(finding.file)
        if origin is None:
            out.append(finding)
            continue
        if finding.code in HOUSE_CONVENTIONS and finding.code not in explicitly_selected:
            continue
        if finding.file not in lines:
            lines[finding.file] = (origin.python_text.splitlines(), origin.sql_text.splitlines())
        python_lines, sql_lines = lines[finding.file]
        op = origin.operation_at(finding.span.line)
        line = op.line if op is not None else 1
        text_line = python_lines[line - 1] if 0 < line <= len(python_lines) else ""
        column = len(text_line) - len(text_line.lstrip()) + 1
        sql = "\n".join(sql_lines[op.first_line - 1:op.last_line]) if op is not None else ""
        hint = (DJANGO_HELP if origin.framework == "django" else ALEMBIC_HELP).get(finding.code)
        out.append(Finding(
            finding.code, finding.name, finding.severity, finding.file,
            Span(line, column, line, max(column, len(text_line))), _cite(finding.message, origin),
            _cite(finding.help, origin) + (f"\n{hint}" if hint else ""), None,
            origin=op.description if op is not None else None, sql=sql or None))
    return out
