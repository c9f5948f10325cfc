"""Item 8: the language server never wedges. Bad frames (a huge Content-Length, a body that is not JSON, one that
is not a request, stray bytes) get JSON-RPC errors and the server keeps answering; a large document is linted in
time linear in its size, off the reader, and a newer change stops the stale lint."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest


class Client:
    def __init__(self, cwd: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "schemalint", "server"], cwd=cwd,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def message(self, obj: Any) -> None:
        body = json.dumps(obj).encode()
        self.send(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def receive(self, until: Any, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Messages until one satisfies ``until``."""
        assert self.process.stdout is not None
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\r\n\r\n" in self.buffer:
                head, rest = self.buffer.split(b"\r\n\r\n", 1)
                size = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                if len(rest) < size:
                    break
                message = json.loads(rest[:size])
                self.buffer = rest[size:]
                got.append(message)
                if until(message):
                    return got
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 1 << 20)
                if not chunk:
                    break
                self.buffer += chunk
        raise AssertionError(f"no such message in {timeout}s: {got[-3:]}")

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture
def client(tmp_path: Path) -> Any:
    started = Client(tmp_path)
    started.message({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}})
    started.receive(lambda m: m.get("id") == 1)
    started.message({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    yield started
    started.close()


def test_bad_frames_get_errors_and_the_server_keeps_answering(client: Client) -> None:
    client.send(b"Content-Length: 99999999999\r\n\r\n{}")
    client.send(b"Content-Length: 9\r\n\r\n{not json")
    client.message([1, 2])
    client.send(b"Content-Length: nonsense\r\n\r\ngarbage between frames\r\n")
    client.message({"jsonrpc": "2.0", "id": 7, "method": "shutdown"})
    got = client.receive(lambda m: m.get("id") == 7)
    errors = [m["error"]["code"] for m in got if "error" in m]
    assert errors == [-32600, -32700, -32600], got
    assert got[-1] == {"jsonrpc": "2.0", "id": 7, "result": None}


def test_a_large_document_is_linted_in_linear_time(client: Client, tmp_path: Path) -> None:
    lines = 20_000
    text = "".join(f"CREATE INDEX idx_{n} ON accounts (c{n});\n" for n in range(lines))
    uri = (tmp_path / "001_big.sql").as_uri()
    started = time.monotonic()
    client.message({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "sql", "version": 1, "text": text}}})
    (published,) = client.receive(lambda m: m.get("method") == "textDocument/publishDiagnostics")[-1:]
    elapsed = time.monotonic() - started
    assert len(published["params"]["diagnostics"]) == lines + 1  # an SL102 each, and the file's one SL114
    assert elapsed < 60, elapsed  # quadratic, this was minutes


def test_a_newer_change_stops_the_stale_lint() -> None:
    from schemalint.engine import Cancelled
    from schemalint.language_server import lint_text

    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        lint_text(Path("/nonexistent/001_x.sql"), "CREATE INDEX idx_a ON accounts (a);\n", stop)
