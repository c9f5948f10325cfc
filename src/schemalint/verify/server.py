"""A PostgreSQL to verify against: a throwaway cluster on a unix socket, or a scratch database on an
existing server (``--dsn``). Everything is removed at the end, also on Ctrl-C or an error."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any


class ServerError(Exception):
    """The server could not be found, started or reached (one line, for the user)."""


INSTALL_HINT = "install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql)"


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def find_bindir(explicit: str | None = None) -> Path:
    """Where initdb and postgres live: --pg-bin, pg_config --bindir, PATH, the usual install folders."""
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    else:
        pg_config = shutil.which("pg_config")
        if pg_config:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=False)
                if out.returncode == 0 and out.stdout.strip():
                    candidates.append(Path(out.stdout.strip()))
        initdb = shutil.which("initdb")
        if initdb:
            candidates.append(Path(initdb).parent)
        candidates.extend(Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True))
        candidates.append(Path("/usr/local/pgsql/bin"))
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "postgres").is_file():
            return directory
    where = explicit or "pg_config --bindir, PATH, /usr/lib/postgresql/*/bin, /usr/local/pgsql/bin"
    raise ServerError(f"PostgreSQL server binaries (initdb, postgres) not found in {where}: {INSTALL_HINT}")


@dataclass(frozen=True, slots=True)
class Connection:
    conninfo: dict[str, Any]
    description: str
    version: str = ""


@contextlib.contextmanager
def _terminate_on_sigterm() -> Iterator[None]:
    """SIGTERM ends the run like Ctrl-C does, so the cleanup below always runs."""
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_as(user: str | None) -> dict[str, Any]:
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


@contextlib.contextmanager
def throwaway_cluster(bindir: Path, run_as: str | None = None, keep_log: list[str] | None = None) -> Iterator[Connection]:
    """initdb into a temporary folder, start postgres on a unix socket only, yield, then stop and delete."""
    if os.geteuid() == 0 and run_as is None:
        run_as = "postgres"  # PostgreSQL refuses to run as root
    if run_as is not None:
        try:
            pwd.getpwnam(run_as)
        except KeyError:
            raise ServerError(f"running as root needs a system user to run PostgreSQL as; user {run_as!r} does not "
                              f"exist (create it, or name another with --pg-user)") from None
    as_user = _run_as(run_as)
    root = Path(tempfile.mkdtemp(prefix="schemalint-verify-"))
    data = root / "data"
    log = root / "server.log"
    process: subprocess.Popen[bytes] | None = None
    with _terminate_on_sigterm():
        try:
            if run_as is not None:
                entry = pwd.getpwnam(run_as)
                os.chown(root, entry.pw_uid, entry.pw_gid)
            root.chmod(0o700 if run_as is None else 0o755)
            init = subprocess.run(
                [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync",
                 "-E", "UTF8", "--locale=C"],
                capture_output=True, text=True, check=False, **as_user,
            )
            if init.returncode != 0:
                raise ServerError(f"initdb failed: {(init.stderr or init.stdout).strip().splitlines()[-1:]}")
            process = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(data), "-k", str(root), "-c", "listen_addresses=",
                 "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
                 "-c", "max_connections=20", "-c", "shared_buffers=32MB", "-c", "log_min_messages=warning"],
                stdout=subprocess.DEVNULL, stderr=open(log, "wb"), start_new_session=True, **as_user,  # noqa: SIM115
            )
            conninfo = {"host": str(root), "port": 5432, "user": "postgres", "dbname": "postgres"}
            _wait_ready(conninfo, process, log)
            yield Connection(conninfo, f"throwaway cluster in {root}")
        finally:
            if process is not None and process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGQUIT)  # immediate shutdown
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
            if keep_log is not None and log.exists():
                keep_log.append(log.read_text(errors="replace"))
            shutil.rmtree(root, ignore_errors=True)


def _wait_ready(conninfo: dict[str, Any], process: subprocess.Popen[bytes], log: Path) -> None:
    import psycopg

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
            raise ServerError(f"postgres exited while starting: {' '.join(tail) or 'no log'}")
        try:
            with psycopg.connect(**conninfo, connect_timeout=2):
                return
        except psycopg.OperationalError:
            time.sleep(0.1)
    raise ServerError("postgres did not accept connections within 60 seconds")


@contextlib.contextmanager
def scratch_database(dsn: str) -> Iterator[Connection]:
    """A database with a unique name on an existing server; dropped at the end. Nothing else is written."""
    import psycopg
    from psycopg import sql

    name = f"schemalint_verify_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise ServerError(f"cannot connect to --dsn: {str(exc).strip().splitlines()[0]}") from None
    with _terminate_on_sigterm():
        try:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            info = psycopg.conninfo.conninfo_to_dict(dsn)
            info["dbname"] = name
            yield Connection(info, f"scratch database {name}")
        finally:
            with contextlib.suppress(psycopg.Error):
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            admin.close()


__all__ = ["Connection", "ServerError", "find_bindir", "scratch_database", "throwaway_cluster"]
