"""Render an Alembic project's revisions as SQL in offline mode (no database), one revision at a time, noting the
line of the ``op.`` call that emitted each statement: run by schemalint in the project's own interpreter
(``python alembic_extract.py --config alembic.ini``), never imported into schemalint's process.

The last line on stdout is ``{"type": "result", "migrations": [...]}`` or ``{"type": "error", "message": …}``.
Only the standard library, SQLAlchemy and Alembic are used here."""

from __future__ import annotations

import argparse
import ast
import io
import json
import linecache
import os
import sys
import tokenize
from typing import Any

_CHANNEL = sys.stdout  # kept before the project can print: messages go here, the project's prints to stderr


def _send(message: dict[str, Any]) -> None:
    _CHANNEL.write(json.dumps(message) + "\n")
    _CHANNEL.flush()


def _comments(path: str) -> dict[int, list[str]]:
    """``# schemalint:`` comments by line (suppressions written in Python)."""
    comments: dict[int, list[str]] = {}
    try:
        with open(path, "rb") as handle:
            for token in tokenize.tokenize(handle.readline):
                if token.type == tokenize.COMMENT and "schemalint:" in token.string:
                    comments.setdefault(token.start[0], []).append(token.string.lstrip("#").strip())
    except (OSError, SyntaxError, tokenize.TokenError):
        pass
    return comments


def _caller_line(path: str) -> int:
    """The line in the revision file of the call being run (the ``op.`` call that emits the statement)."""
    frame = sys._getframe(1)
    target = os.path.abspath(path)
    while frame is not None:
        if os.path.abspath(frame.f_code.co_filename) == target:
            return frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return 1


def per_migration_transactions(env_py: str) -> bool:
    """Does env.py configure ``transaction_per_migration=True``?"""
    try:
        with open(env_py, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, UnicodeDecodeError):
        return False
    return any(isinstance(node, ast.keyword) and node.arg == "transaction_per_migration"
               and isinstance(node.value, ast.Constant) and node.value.value is True for node in ast.walk(tree))


def _render(revision: Any, context: Any, buffer: io.StringIO) -> dict[str, Any]:
    from alembic.operations import Operations

    path = revision.path
    comments = _comments(path)
    operations: list[dict[str, Any]] = []
    state = {"autocommit": False}
    impl = context.impl
    original = impl._exec

    def execute(construct: Any, *args: Any, **kwargs: Any) -> Any:
        start = buffer.tell()
        result = original(construct, *args, **kwargs)
        text = buffer.getvalue()[start:].strip()
        line = _caller_line(path)
        if text:
            operations.append({"line": line, "describe": linecache.getline(path, line).strip()[:120],
                               "sql": [text], "autocommit": state["autocommit"],
                               "comments": comments.get(line, []) + comments.get(line - 1, []), "python": False})
        return result

    # autocommit_block() emits COMMIT … BEGIN in offline mode: schemalint is told which statements run outside
    # the transaction instead
    impl.emit_commit = lambda: state.update(autocommit=True)
    impl.emit_begin = lambda: state.update(autocommit=False)
    impl._exec = execute
    try:
        with Operations.context(context):
            revision.module.upgrade()
    finally:
        impl._exec = original
    return {"name": revision.revision, "file": path, "atomic": True, "operations": operations}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="alembic.ini")
    parser.add_argument("--root", default=".")
    args = parser.parse_args()
    sys.stdout = sys.stderr  # whatever the project prints must not mix with the messages
    root = os.path.abspath(args.root)
    sys.path.insert(0, root)
    os.chdir(root)
    try:
        import alembic
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        config = Config(args.config)
        script = ScriptDirectory.from_config(config)
        revisions = list(script.walk_revisions("base", "heads"))[::-1]  # walk_revisions goes from the heads down
        migrations, notes = [], []
        for revision in revisions:
            buffer = io.StringIO()
            context = MigrationContext.configure(dialect_name="postgresql", opts={
                "as_sql": True, "output_buffer": buffer, "literal_binds": True, "transactional_ddl": True})
            try:
                migrations.append(_render(revision, context, buffer))
            except Exception as exc:  # data migrations that need a connection cannot be rendered offline
                notes.append(f"{os.path.relpath(revision.path)}: revision {revision.revision} cannot be rendered "
                             f"without a database ({type(exc).__name__}: {exc}): not checked")
        env_py = os.path.join(script.dir, "env.py")
        _send({"type": "result", "alembic": alembic.__version__, "migrations": migrations, "notes": notes,
               "per_migration": per_migration_transactions(env_py)})
    except Exception as exc:  # one line for schemalint to report, never a traceback on its output
        missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
        _send({"type": "error", "message": f"{type(exc).__name__}: {exc}", "missing": missing == "alembic"})


if __name__ == "__main__":
    main()
