"""Where the migrations under test run: a scratch database with a fresh random name, owned by a fresh
unprivileged role (NOSUPERUSER, NOCREATEDB, NOCREATEROLE) that applies every statement, beside a separate
monitoring connection that observes. Both are created by this run and are the only things it ever drops."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from schemalint.verify.server import Connection, ServerError, clip

NAME_PREFIX = "schemalint_verify_"
ATTEMPTS = 5

# The monitoring connection resolves every name in pg_catalog first and never in a schema the migration
# could have written to, so a migration cannot plant a function or view that our observing queries run.
MONITOR_OPTIONS = "-c search_path=pg_catalog,pg_temp"


@dataclass(frozen=True, slots=True)
class Sandbox:
    migrator: dict[str, Any]  # conninfo of the role that applies the migrations
    monitor: dict[str, Any]  # conninfo of the observer (the server's admin role), same database
    database: str
    role: str | None  # None with --allow-superuser: the migrations run as the admin role
    description: str
    folder: str | None = None  # the throwaway cluster's folder, whose size verify watches (None for --dsn)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(getattr(exc, "diag", None), "message_primary", None) or exc).strip()
    return clip((text.splitlines() or [""])[0])


def _check_admin(admin: Any, allow_superuser: bool, where: str) -> None:
    """One clear line when the server cannot host a sandbox: read-only, or the role lacks a privilege."""
    read_only, in_recovery = admin.execute(
        "SELECT current_setting('transaction_read_only'), pg_is_in_recovery()").fetchone()
    if in_recovery or read_only == "on":
        raise ServerError(f"{where} is read-only ({'a standby' if in_recovery else 'transaction_read_only is on'}): "
                          f"verify needs a server where it can create a scratch database")
    user, superuser, createdb, createrole = admin.execute(
        "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user").fetchone()
    missing = [] if superuser else [name for name, has in (("CREATEDB", createdb), ("CREATEROLE", createrole))
                                    if not has and (name == "CREATEDB" or not allow_superuser)]
    if missing:
        raise ServerError(f"role {user} on {where} lacks {' and '.join(missing)}: verify creates a scratch database "
                          f"and an unprivileged role to run the migrations as; connect as a role that has them")


def _create_unique(admin: Any, statement: Callable[[str], Any], duplicate: type[Exception]) -> str:
    """Run ``statement(name)`` with fresh random names until one is free; never reuse an existing object."""
    for _ in range(ATTEMPTS):
        name = NAME_PREFIX + secrets.token_hex(6)
        try:
            admin.execute(statement(name))
        except duplicate:
            continue
        return name
    raise ServerError(f"could not find a free name for a scratch object after {ATTEMPTS} attempts")


@contextlib.contextmanager
def sandbox(server: Connection, allow_superuser: bool = False,
            notice: Callable[[str], None] | None = None) -> Iterator[Sandbox]:
    """Create the role and the database, yield their conninfos, then drop exactly those two."""
    import psycopg
    from psycopg import errors, sql

    try:
        admin = psycopg.connect(**server.conninfo, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise ServerError(f"cannot connect to {server.description}: {_first_line(exc)}") from None
    role: str | None = None
    database: str | None = None
    try:
        try:
            _check_admin(admin, allow_superuser, server.description)
            password = secrets.token_urlsafe(32)
            if not allow_superuser:
                role = _create_unique(admin, lambda name: sql.SQL(
                    "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
                    "NOINHERIT PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)),
                    errors.DuplicateObject)
                with contextlib.suppress(psycopg.Error):  # a CREATEROLE admin must be a member to give it a database
                    admin.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(role)))
            owner = sql.SQL(" OWNER {}").format(sql.Identifier(role)) if role else sql.SQL("")
            database = _create_unique(admin, lambda name: sql.SQL("CREATE DATABASE {}{} TEMPLATE template0").format(
                sql.Identifier(name), owner), errors.DuplicateDatabase)
            admin.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))
            monitor = {**server.conninfo, "dbname": database, "options": MONITOR_OPTIONS}
            migrator = {**server.conninfo, "dbname": database}
            if role is not None:
                migrator.update(user=role, password=password)
                with psycopg.connect(**monitor, autocommit=True, connect_timeout=10) as setup:
                    setup.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(role)))
                try:
                    psycopg.connect(**migrator, connect_timeout=10).close()
                except psycopg.Error as exc:
                    raise ServerError(
                        f"cannot log in as the unprivileged role verify created on {server.description} "
                        f"({_first_line(exc)}): the server's pg_hba.conf must allow password logins "
                        f"(scram-sha-256 or md5) for it") from None
        except psycopg.Error as exc:
            raise ServerError(f"cannot prepare a scratch database on {server.description}: {_first_line(exc)}") from None
        runs_as = f"role {role}" if role else "the connecting role (--allow-superuser)"
        yield Sandbox(migrator, monitor, database, role, f"{server.description}, database {database}, as {runs_as}",
                      server.folder)
    finally:
        _drop(admin, database, role, server.description, notice)
        admin.close()


def _drop(admin: Any, database: str | None, role: str | None, where: str,
          notice: Callable[[str], None] | None) -> None:
    import psycopg
    from psycopg import sql

    for kind, name, statements in (
        ("database", database, [sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")]),
        ("role", role, [sql.SQL("DROP OWNED BY {}"), sql.SQL("DROP ROLE IF EXISTS {}")]),
    ):
        if name is None or admin.closed:
            continue
        try:
            for statement in statements:
                admin.execute(statement.format(sql.Identifier(name)))
        except psycopg.Error as exc:
            if notice is not None:
                notice(f"could not drop the scratch {kind} {name} on {where}: {_first_line(exc)}")


__all__ = ["NAME_PREFIX", "Sandbox", "sandbox"]
