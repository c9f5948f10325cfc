"""The daemon behind ``check --daemon``: a process that has imported the CLI, the engine, every rule and pglast
once, and answers each request on its unix socket from a forked worker (fork after import: the worker starts
warm and shares nothing with the next one). The worker runs the same ``schemalint check`` the user typed, in
the client's working folder and environment, with standard output that answers ``isatty`` as the client's did,
so its output and exit code are byte for byte what an in-process run gives.

Only this user can reach it: the socket lives in a folder that is the user's and closed to others
(``$XDG_RUNTIME_DIR/schemalint`` or the per-user cache folder), and each connection's peer must be the same
user. ``daemon stop`` asks it to end over the socket: no signal is ever sent to a process by pid."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import struct
import sys
from typing import Any

from schemalint import daemon_client, memo

_PEER = struct.Struct("3i")  # SO_PEERCRED: pid, uid, gid


class _Terminal(io.TextIOWrapper):
    """A text stream into a buffer that answers ``isatty`` as the client's stream did (colour decisions)."""

    def __init__(self, buffer: io.BytesIO, tty: bool) -> None:
        super().__init__(buffer, encoding="utf-8", errors="replace", write_through=True)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def _warm_up() -> None:
    """Everything a check needs, imported once in the daemon (each worker inherits it)."""
    import importlib

    for module in ("schemalint.cli", "schemalint.engine", "schemalint.report", "schemalint.report.text",
                   "schemalint.report.json_format", "schemalint.report.concise", "schemalint.report.sarif",
                   "schemalint.report.github", "schemalint.report.markdown", "schemalint.run"):
        importlib.import_module(module)
    from schemalint.rules import all_rules

    all_rules()


def serve(path: str) -> None:
    """Listen on ``path`` until asked to stop."""
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    if not daemon_client.trusted_folder(folder):
        raise SystemExit(f"schemalint: daemon: {folder} is not a folder only this user can enter")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    _warm_up()
    fingerprint = memo._code_fingerprint()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(16)
    try:
        while True:
            conn, _ = listener.accept()
            if not _same_user(conn):
                conn.close()
                continue
            try:
                header, body = daemon_client.receive(conn)
            except (OSError, ValueError, ConnectionError):
                conn.close()
                continue
            if header.get("command") == "stop":
                daemon_client.send(conn, {"status": "stopping", "pid": os.getpid()})
                conn.close()
                return
            if header.get("command") == "status":
                daemon_client.send(conn, {"status": "running", "pid": os.getpid(), "fingerprint": fingerprint})
                conn.close()
                continue
            if header.get("protocol") != daemon_client.PROTOCOL or header.get("fingerprint") != fingerprint:
                daemon_client.send(conn, {"status": "other-version"})
                conn.close()
                continue
            if os.fork() == 0:  # the worker
                listener.close()
                code = _work(conn, header, body)
                os._exit(code)
            conn.close()
    finally:
        listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _same_user(conn: socket.socket) -> bool:
    try:
        _pid, uid, _gid = _PEER.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEER.size))
    except (OSError, AttributeError):
        return False
    return bool(uid == os.geteuid())


def _work(conn: socket.socket, header: dict[str, Any], stdin: bytes) -> int:
    """Run one check as the client would have, and send back what it printed."""
    out, err = io.BytesIO(), io.BytesIO()
    code = 2
    try:
        os.chdir(str(header["cwd"]))
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in dict(header["env"]).items()})
        tty = list(header.get("tty") or [False, False])
        sys.stdout, sys.stderr = _Terminal(out, bool(tty[0])), _Terminal(err, bool(tty[1]))
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
        sys.argv = ["schemalint", *[str(a) for a in header["argv"] if a != "--daemon"]]
        code = _run_cli()
    except Exception as exc:  # the client then runs the check itself
        with contextlib.suppress(OSError):
            daemon_client.send(conn, {"status": "failed", "error": f"{type(exc).__name__}: {exc}"})
        return 2
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    stdout, stderr = out.getvalue(), err.getvalue()
    with contextlib.suppress(OSError):
        daemon_client.send(conn, {"status": "done", "code": code, "stdout": len(stdout),
                                  "body": len(stdout) + len(stderr)}, stdout + stderr)
    conn.close()
    return 0


def _run_cli() -> int:
    from schemalint.cli.app import main

    argv = sys.argv[1:]
    try:
        if memo.memoisable(argv):
            with memo.recording(argv):
                main()
        else:
            main()
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
    return 0


def request(command: str) -> dict[str, Any] | None:
    """Ask a running daemon for ``status`` or to ``stop``; None when none answers."""
    sock = daemon_client.connect()
    if sock is None:
        return None
    try:
        with sock:
            daemon_client.send(sock, {"command": command})
            header, _ = daemon_client.receive(sock)
    except (OSError, ValueError, ConnectionError):
        return None
    return header


if __name__ == "__main__":
    serve(sys.argv[1] if len(sys.argv) > 1 else daemon_client.socket_path())
