"""A PostgreSQL to verify against: a private throwaway cluster on a unix socket, or an existing server
(``--dsn``). The cluster is removed at the end, also on a signal or an error, and by a later run if this
one was killed."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ServerError(Exception):
    """The server could not be found, started or reached (one line, for the user)."""


MAX_SERVER_TEXT = 300  # characters of server output a message may carry (it could hold file contents)


def clip(text: str, limit: int = MAX_SERVER_TEXT) -> str:
    """Server output for a message: on one line, and never more than ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


INSTALL_HINT = ("install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql; macOS: brew install "
                "postgresql), or `pip install 'schemalint[verify]'`, which brings pgserver's embedded binaries")


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
        embedded = embedded_bindir()
        if embedded is not None:
            candidates.append(embedded)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "postgres").is_file():
            return directory
    where = explicit or "pg_config --bindir, PATH, /usr/lib/postgresql/*/bin, /usr/local/pgsql/bin, pgserver"
    raise ServerError(f"PostgreSQL server binaries (initdb, postgres) not found in {where}: {INSTALL_HINT}")


def embedded_bindir() -> Path | None:
    """The server binaries of the ``pgserver`` package (PyPI wheels with PostgreSQL inside), if installed."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("pgserver")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    bindir = Path(spec.origin).parent / "pginstall" / "bin"
    return bindir if (bindir / "initdb").is_file() else None


def server_version(bindir: Path) -> str:
    """``postgres --version`` → "16.2" (empty when it cannot be run)."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=10,
                             check=False)
        found = re.search(r"(\d+(?:\.\d+)*)", out.stdout)
        if found:
            return found.group(1)
    return ""


def _reachable_by_others(path: Path) -> bool:
    for folder in [path, *path.parents]:
        with contextlib.suppress(OSError):
            if not folder.stat().st_mode & stat.S_IXOTH:
                return False
    return True


def reachable_bindir(bindir: Path, run_as: str | None) -> Path:
    """Binaries the server's own user can run. pgserver installed under root's private home (0700) is copied
    once, with the layout its RPATH expects (pgserver/pginstall and pgserver.libs side by side), into a cache
    folder only root can write."""
    if run_as is None or _reachable_by_others(bindir) or bindir != embedded_bindir():
        return bindir
    package = bindir.parent.parent
    version = server_version(bindir) or "unknown"
    target = Path(tempfile.gettempdir()) / f"schemalint-pgserver-{version}-{os.geteuid()}"
    marker = target / "complete"
    copied = target / "pgserver" / "pginstall" / "bin"
    info = target.stat() if target.exists() else None
    trusted = info is not None and info.st_uid == os.geteuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if trusted and marker.is_file():
        return copied
    if target.exists() and trusted:
        shutil.rmtree(target, ignore_errors=True)  # an interrupted copy: made again
    if target.exists():
        raise ServerError(f"{target} exists and is not schemalint's own copy of pgserver: remove it")
    staging = Path(tempfile.mkdtemp(prefix="schemalint-pgserver-"))
    shutil.copytree(package / "pginstall", staging / "pgserver" / "pginstall", symlinks=True)
    libs = package.parent / "pgserver.libs"
    if libs.is_dir():
        shutil.copytree(libs, staging / "pgserver.libs", symlinks=True)
    for root, dirs, files in os.walk(staging):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755 if os.access(path, os.X_OK) else 0o644)
    os.chmod(staging, 0o755)
    (staging / "complete").write_text(version, encoding="utf-8")
    os.replace(staging, target)
    return copied


@dataclass(frozen=True, slots=True)
class Connection:
    conninfo: dict[str, Any]
    description: str
    version: str = ""
    folder: str | None = None  # the throwaway cluster's folder (its size is watched); None for --dsn

    @property
    def dsn(self) -> str:
        """The conninfo as a connection string (with its password: keep it in memory, never print it)."""
        from psycopg.conninfo import make_conninfo

        return str(make_conninfo(**{k: str(v) for k, v in self.conninfo.items()}))


def _run_as(user: str | None) -> dict[str, Any]:
    if user is None:
        return {}
    import pwd  # POSIX only: imported where privileges are dropped, so verify loads on Windows

    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def scrubbed_environment(bindir: Path) -> dict[str, str]:
    """All the server gets of the caller's environment: a PATH, the C locale and the time zone. Nothing
    else, so a migration that runs ``COPY … FROM PROGRAM 'env'`` (with --allow-superuser) reads no secret."""
    env = {"PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C", "LANG": "C"}
    if os.environ.get("TZ"):
        env["TZ"] = os.environ["TZ"]
    return env


CLUSTER_PREFIX = "schemalint-verify-"
OWNER_MARKER = "owner.json"


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc), so a reused pid is not taken for its owner."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def _alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return start is None or _process_start(pid) in (None, start)


def _write_marker(root: Path) -> None:
    marker = {"pid": os.getpid(), "start": _process_start(os.getpid())}
    (root / OWNER_MARKER).write_text(json.dumps(marker), encoding="utf-8")


def _postmaster_of(data: Path) -> int | None:
    """The pid in ``data/postmaster.pid`` when that process really is the postgres server of this data directory
    (its working directory is the data directory, which postgres enters at start: /proc/<pid>/cwd); None for any
    other process (a pid someone wrote there, a pid reused since)."""
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if pid <= 1:
        return None
    try:
        running_in = Path(os.readlink(f"/proc/{pid}/cwd"))
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return None
    if running_in != data.resolve() or not os.path.basename(command.decode(errors="replace")).startswith("postgres"):
        return None
    return pid


def _stop_postmaster(pid: int) -> None:
    """Stop a leftover cluster's server: immediate shutdown, then SIGKILL if it does not go."""
    for sig, wait in ((signal.SIGQUIT, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def _made_by_verify(folder: Path, owners: set[int]) -> str | None:
    """Why a folder with verify's prefix is not one a verify run made (None when it is): a symlink, owned by
    someone else than this user or the cluster user, not private (0700), or without verify's marker."""
    try:
        info = folder.lstat()
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        return "it is not a folder"
    if info.st_uid not in owners:
        return f"it belongs to uid {info.st_uid}"
    if stat.S_IMODE(info.st_mode) != 0o700:
        return f"its mode is {stat.S_IMODE(info.st_mode):o}, not 700"
    marker = folder / OWNER_MARKER
    try:
        if marker.is_symlink():
            return "its marker is a symlink"
        owner = json.loads(marker.read_text(encoding="utf-8"))
        int(owner["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return "it has no verify marker"
    return None


def remove_leftovers(base: Path, cluster_user: str | None = None) -> list[str]:
    """Clusters whose owning run is gone (killed, power cut): stop their server and remove the folder. Only
    folders a verify run made (owned by this user or the cluster user, 0700, with verify's marker) are touched,
    and a process is signalled only when it is the postgres server of that folder; otherwise the folder is left,
    and a line says why (one line each, for the user)."""
    owners = {os.geteuid()}
    if cluster_user is not None:
        import pwd

        with contextlib.suppress(KeyError):
            owners.add(pwd.getpwnam(cluster_user).pw_uid)
    lines: list[str] = []
    for folder in sorted(base.glob(f"{CLUSTER_PREFIX}*")):
        why = _made_by_verify(folder, owners)
        if why is not None:
            if os.geteuid() == 0 or not why.startswith("it belongs to"):  # others' runs are theirs, not ours
                lines.append(f"left {folder}: not a folder verify made ({why})")
            continue
        owner = json.loads((folder / OWNER_MARKER).read_text(encoding="utf-8"))
        pid, start = int(owner["pid"]), owner.get("start")
        if _alive(pid, start):
            continue  # a run still going
        data = folder / "data"
        if (data / "postmaster.pid").exists():
            server = _postmaster_of(data)
            if server is None:
                if _any_process_of(data):
                    lines.append(f"left {folder}: its postmaster.pid names no postgres server of this folder")
                    continue
            else:
                _stop_postmaster(server)
        shutil.rmtree(folder, ignore_errors=True)
        lines.append(f"removed a verify cluster left behind by an ended run (pid {pid}): {folder}")
    return lines


def _any_process_of(data: Path) -> bool:
    """Is a process still running in ``data`` (its working directory)? Then the folder is not removed."""
    target = str(data.resolve())
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{entry.name}/cwd") == target:
                        return True
    return False


@contextlib.contextmanager
def throwaway_cluster(bindir: Path, run_as: str | None = None, keep_log: list[str] | None = None,
                      notice: Callable[[str], None] | None = None,
                      max_bytes: int | None = None) -> Iterator[Connection]:
    """initdb into a private temporary folder, start postgres on a unix socket only, yield, then stop and
    delete. Private: the folder and its socket are reachable by the server's user alone (0700), there is no
    TCP listener, and logging in needs a password made for this run (scram-sha-256, never trust)."""
    if os.geteuid() == 0 and run_as is None:
        run_as = "postgres"  # PostgreSQL refuses to run as root
    if run_as is not None:
        import pwd

        try:
            pwd.getpwnam(run_as)
        except KeyError:
            raise ServerError(f"running as root needs a system user to run PostgreSQL as; user {run_as!r} does not "
                              f"exist (create it, or name another with --pg-user)") from None
    for line in remove_leftovers(Path(tempfile.gettempdir()), run_as):
        if notice is not None:
            notice(line)
    bindir = reachable_bindir(bindir, run_as)
    as_user = _run_as(run_as)
    env = scrubbed_environment(bindir)
    password = secrets.token_urlsafe(32)
    root = Path(tempfile.mkdtemp(prefix=CLUSTER_PREFIX))  # mkdtemp: 0700, owned by us
    data = root / "data"
    log = root / "server.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        _write_marker(root)
        pwfile = root / "pwfile"
        pwfile.write_text(password + "\n", encoding="utf-8")
        pwfile.chmod(0o600)
        if run_as is not None:
            import pwd

            entry = pwd.getpwnam(run_as)
            for path in (root, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        root.chmod(0o700)
        init = subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=scram-sha-256",
             f"--pwfile={pwfile}", "--no-sync", "-E", "UTF8", "--locale=C"],
            capture_output=True, text=True, check=False, env=env, **as_user,
        )
        pwfile.unlink(missing_ok=True)
        if init.returncode != 0:
            raise ServerError(f"initdb failed: {(init.stderr or init.stdout).strip().splitlines()[-1:]}")
        process = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(data), "-k", str(root), "-c", "listen_addresses=",
             "-c", "unix_socket_permissions=0700", "-c", "fsync=off", "-c", "full_page_writes=off",
             "-c", "synchronous_commit=off", "-c", "max_connections=20", "-c", "shared_buffers=32MB",
             "-c", "log_min_messages=warning",
             *(["-c", f"temp_file_limit={max_bytes // 1024}kB"] if max_bytes else [])],
            stdout=subprocess.DEVNULL, stderr=open(log, "wb"), start_new_session=True, env=env,  # noqa: SIM115
            **as_user,
        )
        conninfo = {"host": str(root), "port": 5432, "user": "postgres", "dbname": "postgres",
                    "password": password}
        _wait_ready(conninfo, process, log)
        yield Connection(conninfo, f"throwaway cluster of {bindir} in {root}", folder=str(root))
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
            raise ServerError(f"postgres exited while starting: {clip(' '.join(tail)) or 'no log'}")
        try:
            with psycopg.connect(**conninfo, connect_timeout=2):
                return
        except psycopg.OperationalError:
            time.sleep(0.1)
    raise ServerError("postgres did not accept connections within 60 seconds")


def existing_server(dsn: str) -> Connection:
    """An existing server named by --dsn: only checked to be reachable here; the sandbox does the rest."""
    import psycopg

    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.Error as exc:
        raise ServerError(f"--dsn is not a valid connection string: {clip(str(exc))}") from None
    return Connection(dict(info), "the server named by --dsn")


__all__ = ["MAX_SERVER_TEXT", "Connection", "ServerError", "clip", "existing_server", "find_bindir",
           "remove_leftovers", "scrubbed_environment", "throwaway_cluster"]
