"""The client side of ``check --daemon``: imported on every run that may use the daemon, so it imports only
small standard-library modules. It sends the run (arguments, working folder, environment, whether stdout and
stderr are terminals, standard input when ``-`` is named) over a per-user unix socket and writes back what the
daemon's forked worker printed, with its exit code. When no daemon answers, or it runs another version of
schemalint, the caller runs the check in-process: the result is the same, only slower."""

from __future__ import annotations

import json
import os
import stat
import struct
import sys
from typing import Any

from schemalint.memo import write_answer  # stdlib only, and loaded first on every run anyway

PROTOCOL = 1
_HEADER = struct.Struct("!I")  # the length of the JSON header that starts every message
MAX_MESSAGE = 256 * 1024 * 1024


def socket_folder() -> str:
    """A folder only this user can enter: ``$XDG_RUNTIME_DIR/schemalint``, else the per-user cache folder."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "schemalint")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "schemalint", "daemon")


def socket_path() -> str:
    return os.path.join(socket_folder(), "daemon.sock")


def trusted_folder(folder: str) -> bool:
    """The socket's folder is ours and closed to everyone else (never a folder another user could swap)."""
    try:
        info = os.stat(folder, follow_symlinks=False)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077


def wants_daemon(argv: list[str]) -> bool:
    """``check --daemon``, or ``daemon = true`` in the config a check would read."""
    if not argv or argv[0] != "check":
        return False
    if "--daemon" in argv:
        return True
    if "--no-daemon" in argv or any(a == "--config" or a.startswith("--config=") for a in argv):
        return False
    return _config_says_daemon(os.getcwd())


def _config_says_daemon(start: str) -> bool:
    folder = os.path.abspath(start)
    while True:
        for name in ("schemalint.toml", "pyproject.toml"):
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                table: Any = _toml(path)
                if name == "pyproject.toml":
                    tool = table.get("tool")
                    table = tool.get("schemalint") if isinstance(tool, dict) else None
                    if not isinstance(table, dict):
                        continue
                return table.get("daemon") is True
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent


def _toml(path: str) -> dict[str, Any]:
    import tomllib

    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except (OSError, ValueError, RecursionError):
        return {}  # the full CLI reports a config it cannot read


def send(sock: Any, header: dict[str, Any], body: bytes = b"") -> None:
    data = json.dumps(header, separators=(",", ":")).encode()
    sock.sendall(_HEADER.pack(len(data)) + data + body)


def receive(sock: Any) -> tuple[dict[str, Any], bytes]:
    """(header, body) of one message; the header says how many body bytes follow (``body``)."""
    length = _HEADER.unpack(_exactly(sock, _HEADER.size))[0]
    if length > MAX_MESSAGE:
        raise ConnectionError("message too large")
    header = json.loads(_exactly(sock, length))
    if not isinstance(header, dict):
        raise ConnectionError("not a message")
    size = int(header.get("body", 0))
    if size > MAX_MESSAGE:
        raise ConnectionError("message too large")
    return header, _exactly(sock, size)


def _exactly(sock: Any, size: int) -> bytes:
    chunks, got = [], 0
    while got < size:
        chunk = sock.recv(min(size - got, 1 << 20))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def connect(timeout: float = 2.0) -> Any:
    """A connection to this user's daemon, or None (imported here: most runs never ask for one)."""
    import socket

    folder = socket_folder()
    if not trusted_folder(folder):
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(os.path.join(folder, "daemon.sock"))
    except OSError:
        sock.close()
        return None
    return sock


def run(argv: list[str], fingerprint: str) -> int | None:
    """The exit code of the check as the daemon ran it (its output already written); None when no daemon of
    this very version answered."""
    sock = connect()
    if sock is None:
        return None
    stdin = sys.stdin.buffer.read() if "-" in argv[1:] else b""
    request = {"protocol": PROTOCOL, "fingerprint": fingerprint, "argv": argv, "cwd": os.getcwd(),
               "env": dict(os.environ), "tty": [_isatty(sys.stdout), _isatty(sys.stderr)], "body": len(stdin)}
    try:
        with sock:
            sock.settimeout(None)  # a long check is answered when it is done
            send(sock, request, stdin)
            header, body = receive(sock)
    except (OSError, ValueError, ConnectionError):
        return None
    if header.get("status") != "done":
        return None  # another version, or the worker could not run: run in-process
    return write_answer(header, body)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
