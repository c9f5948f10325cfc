"""Render a Django project's migrations as SQL, with no database: run by schemalint in the project's own
interpreter (``python django_extract.py``), never imported into schemalint's process.

It speaks JSON lines: on stdout, ``{"type": "ask", "table": …, "sql": [...]}`` when Django wants to know a table's
constraints (Django asks the database's catalogue for the names of constraints it did not name itself);
schemalint answers on stdin with ``{"constraints": {...}}`` from its own schema model, fed with the SQL rendered so
far. The last line is ``{"type": "result", "migrations": [...]}`` or ``{"type": "error", "message": …}``.

Only the standard library and Django are used here."""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import tokenize
from typing import Any

NO_CONNECTION = "schemalint renders migrations without a database: no connection is made"


_CHANNEL = sys.stdout  # kept before the project can print: messages go here, the project's prints to stderr


def _send(message: dict[str, Any]) -> None:
    _CHANNEL.write(json.dumps(message) + "\n")
    _CHANNEL.flush()


class _Asker:
    """The catalogue Django would read, answered by schemalint from the SQL rendered so far."""

    def __init__(self) -> None:
        self.pending: list[str] = []

    def constraints(self, table: str) -> dict[str, Any]:
        _send({"type": "ask", "table": table, "sql": self.pending})
        self.pending = []
        line = sys.stdin.readline()
        answer = json.loads(line) if line else {}
        return dict(answer.get("constraints") or {})


class _NoCursor:
    """What ``connection.cursor()`` gives here: a context manager that runs nothing."""

    def __enter__(self) -> _NoCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError(NO_CONNECTION)


def _offline(connection: Any, target: int, asker: _Asker) -> None:
    """No connection, ever: the server version comes from target-postgres, the catalogue from schemalint."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError(NO_CONNECTION)

    connection.connect = refuse
    connection.ensure_connection = refuse
    for driver in ("psycopg", "psycopg2"):  # nor directly through the driver
        try:
            module: Any = __import__(driver)
        except ImportError:
            continue
        module.connect = refuse
    connection.get_new_connection = refuse
    connection.cursor = lambda *a, **k: _NoCursor()
    connection.__dict__["pg_version"] = target * 10000
    connection.introspection.get_constraints = lambda cursor, table: asker.constraints(table)


def _compose(editor: Any, text: str, params: Any) -> str:
    if not params:
        return text
    if isinstance(params, dict):
        return text % {key: editor.quote_value(value) for key, value in params.items()}
    return text % tuple(editor.quote_value(value) for value in params)


def _operation_lines(path: str) -> tuple[list[int], dict[int, list[str]]]:
    """The line of each element of ``Migration.operations`` in the file, and the ``# schemalint:`` comments by
    line (suppressions written in Python, on an operation's line or the line above)."""
    try:
        with tokenize.open(path) as handle:
            source = handle.read()
        tree = ast.parse(source)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return [], {}
    lines: list[int] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "Migration":
            for item in node.body:
                if not isinstance(item, ast.Assign) or not isinstance(item.value, (ast.List, ast.Tuple)):
                    continue
                if "operations" in [t.id for t in item.targets if isinstance(t, ast.Name)]:
                    lines = [element.lineno for element in item.value.elts]
    comments: dict[int, list[str]] = {}
    with open(path, "rb") as handle:
        for token in tokenize.tokenize(handle.readline):
            if token.type == tokenize.COMMENT and "schemalint:" in token.string:
                comments.setdefault(token.start[0], []).append(token.string.lstrip("#").strip())
    return lines, comments


def _render(migration: Any, state: Any, connection: Any, asker: _Asker) -> tuple[dict[str, Any], Any]:
    """One migration's operations with the SQL each renders (and the deferred SQL run at its end)."""
    path = sys.modules[migration.__class__.__module__].__file__ or ""
    lines, comments = _operation_lines(path)
    operations: list[dict[str, Any]] = []
    deferred_owner: dict[int, int] = {}
    # atomic=False: the editor must not open a transaction (that needs a connection); schemalint judges the
    # transaction from migration.atomic itself
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        # parameters are quoted client-side by the editor itself (psycopg's mogrify would need a connection)
        connection.ops.compose_sql = lambda text, params: _compose(editor, text, params)
        for index, operation in enumerate(migration.operations):
            line = lines[index] if index < len(lines) else (lines[0] if lines else 1)
            entry = {"line": line, "describe": operation.describe(), "sql": [], "python": False,
                     "comments": comments.get(line, []) + comments.get(line - 1, [])}
            operations.append(entry)
            if not operation.reduces_to_sql:
                entry["python"] = True  # RunPython: not SQL, not checked
                continue
            before = len(editor.collected_sql)
            old_state = state.clone()
            operation.state_forwards(migration.app_label, state)
            operation.database_forwards(migration.app_label, editor, old_state, state)
            entry["sql"] = [s for s in editor.collected_sql[before:] if s.strip()]
            asker.pending.extend(entry["sql"])
            for statement in editor.deferred_sql:
                deferred_owner.setdefault(id(statement), index)
        owners = [deferred_owner.get(id(s), len(operations) - 1) for s in editor.deferred_sql]
        before = len(editor.collected_sql)
    # leaving the editor ran the deferred statements (foreign keys, indexes of new tables), in that order
    for owner, statement in zip(owners, editor.collected_sql[before:], strict=False):
        if operations and statement.strip():
            operations[owner]["sql"].append(statement)
            asker.pending.append(statement)
    record = {"app": migration.app_label, "name": migration.name, "file": path, "atomic": bool(migration.atomic),
              "operations": operations}
    return record, state


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--settings")
    parser.add_argument("--database", default="default")
    parser.add_argument("--target", type=int, default=15)
    parser.add_argument("--root", default=".")
    args = parser.parse_args()
    sys.stdout = sys.stderr  # whatever the project prints must not mix with the messages
    root = os.path.abspath(args.root)
    sys.path.insert(0, root)
    if args.settings:
        os.environ["DJANGO_SETTINGS_MODULE"] = args.settings
    try:
        import django

        django.setup()
        from django.db import connections
        from django.db.migrations.loader import MigrationLoader
        from django.db.migrations.state import ProjectState

        connection = connections[args.database]
        asker = _Asker()
        _offline(connection, args.target, asker)
        # an existing deployment applied the migrations a squash replaced: follow those
        loader = MigrationLoader(None, ignore_no_migrations=True, replace_migrations=False)
        plan: list[Any] = []
        seen: set[Any] = set()
        for leaf in sorted(loader.graph.leaf_nodes()):
            for key in loader.graph.forwards_plan(leaf):
                if key not in seen:
                    seen.add(key)
                    plan.append(key)
        state = ProjectState(real_apps=loader.unmigrated_apps)
        migrations = []
        for key in plan:
            migration = loader.graph.nodes[key]
            if migration.replaces:
                continue  # a squash: its replaced migrations are what ran
            record, state = _render(migration, state, connection, asker)
            migrations.append(record)
        _send({"type": "result", "django": django.get_version(), "migrations": migrations})
    except Exception as exc:  # one line for schemalint to report, never a traceback on its output
        missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
        _send({"type": "error", "message": f"{type(exc).__name__}: {exc}", "missing": missing == "django"})


if __name__ == "__main__":
    main()
