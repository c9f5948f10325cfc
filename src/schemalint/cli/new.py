"""``schemalint new``: write a migration from safe recipes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from schemalint.cli.app import app, fail

_STEP_OPTIONS = {"--add-column": 2, "--add-index": 1, "--add-foreign-key": 1, "--add-check": 2, "--set-not-null": 1,
                 "--create-table": 2}


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def new(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help='What the migration does, e.g. "Add customer health score to accounts".')],
    author: Annotated[str | None, typer.Option("--author", help="Default: git config user.name.")] = None,
    description: Annotated[str, typer.Option("--description", help="A sentence for the header.")] = "",
    risk: Annotated[str | None, typer.Option("--risk", help="low, medium or high (default: judged from the steps).")] = None,
    directory: Annotated[Path | None, typer.Option("--dir", help="Where to write (default: migrations-dir, else the newest migration's folder, else migrations/).")] = None,
    unique: Annotated[bool, typer.Option("--unique", help="The --add-index indexes are unique.")] = False,
    config: Annotated[Path | None, typer.Option("--config", help="Use this config file instead of searching for one.")] = None,
) -> None:
    """Write a new migration from safe recipes, with the guide's header and rollback section.

    Steps, in the order given: --add-column TABLE.COLUMN "DEFINITION", --add-index "TABLE(COLUMNS)",
    --add-foreign-key "TABLE(COL) REFERENCES OTHER(COL)", --add-check TABLE "EXPRESSION",
    --set-not-null TABLE.COLUMN, --create-table NAME "COLUMN DEFINITIONS".
    """
    from schemalint.authoring.generator import (
        GeneratorError,
        MigrationGenerator,
        parse_reference,
        split_column,
        split_index,
    )
    from schemalint.config import ConfigError

    steps: list[tuple[str, list[str]]] = []
    args = list(ctx.args)
    while args:
        option = args.pop(0)
        count = _STEP_OPTIONS.get(option)
        if count is None:
            fail(f"unknown option or argument {option!r} (see schemalint new --help)")
        if len(args) < count:
            fail(f"{option} needs {count} value{'s' if count > 1 else ''}")
        steps.append((option, [args.pop(0) for _ in range(count)]))
    if not steps:
        fail("no steps: give at least one of " + ", ".join(_STEP_OPTIONS))
    try:
        generator = MigrationGenerator(directory, config)
        migration = generator.create_migration(title, description, author, risk)
        for option, values in steps:
            if option == "--create-table":
                generator.add_create_table_step(migration, values[0], values[1])
            elif option == "--add-column":
                table, column = split_column(values[0])
                generator.add_add_column_step(migration, table, column, values[1])
            elif option == "--set-not-null":
                table, column = split_column(values[0])
                generator.add_set_not_null_step(migration, table, column)
            elif option == "--add-check":
                generator.add_check_constraint_step(migration, values[0], values[1])
            elif option == "--add-foreign-key":
                table, fk_columns, ref_table, ref_columns = parse_reference(values[0])
                generator.add_foreign_key_step(migration, table, fk_columns, ref_table, ref_columns)
            else:
                table, index_columns = split_index(values[0])
                generator.add_create_index_step(migration, table, index_columns, unique=unique)
        path = generator.save_migration(migration)
    except (GeneratorError, ConfigError) as exc:
        fail(str(exc))
    sys.stdout.write(f"{path}\n")


