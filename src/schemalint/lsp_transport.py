"""The language server's reading of its input: LSP base-protocol frames (``Content-Length`` headers, then a JSON
body) from the editor, made robust to what a hostile or broken client sends. pygls' own loop allocates whatever
``Content-Length`` says (99999999999: MemoryError), loses its place for good after one malformed header, and
answers a malformed body with a traceback in its log instead of a JSON-RPC error. Here:

- a frame over MAX_FRAME bytes is refused with a JSON-RPC error and skipped;
- header lines are read with a bounded length, and a ``Content-Length`` header is found at the end of a line, so
  stray bytes before it (the rest of a bad frame) do not stop the next message;
- a body that is not JSON gets a parse error (-32700), one that is not a request an invalid-request error
  (-32600), and the server goes on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import threading
from typing import Any, BinaryIO

from pygls.exceptions import JsonRpcException

logger = logging.getLogger(__name__)

MAX_FRAME = 64 * 1024 * 1024  # bytes: the largest message body read (a 40,000-line migration is ~2 MB)
MAX_HEADER_LINE = 64 * 1024
_CONTENT_LENGTH = re.compile(rb"Content-Length:[ \t]*(\d{1,20})[ \t]*\r?\n?$", re.I)
PARSE_ERROR, INVALID_REQUEST = -32700, -32600


class _Reader:
    """Blocking reads of the editor's stream, run in a worker thread so the event loop stays free."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    async def readline(self) -> bytes:
        return await asyncio.get_running_loop().run_in_executor(None, self.stream.readline, MAX_HEADER_LINE)

    async def read(self, size: int) -> bytes:
        return await asyncio.get_running_loop().run_in_executor(None, self.stream.read, size)


def reply_error(protocol: Any, code: int, message: str, msg_id: Any = None) -> None:
    """A JSON-RPC error response (``id`` null when the request's id could not be read)."""
    protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}})


async def read_messages(stop: threading.Event, stream: BinaryIO, protocol: Any) -> None:
    """Read frames until the stream ends, handing each message to pygls' protocol."""
    reader = _Reader(stream)
    length: int | None = None
    while not stop.is_set():
        line = await reader.readline()
        if not line:
            return
        match = _CONTENT_LENGTH.search(line)
        if match is not None:  # a (new) frame starts: whatever came before it was not one
            length = int(match.group(1))
            continue
        if line.strip() or length is None:
            continue  # another header (Content-Type), or bytes between frames: skipped
        size, length = length, None
        if size > MAX_FRAME:
            reply_error(protocol, INVALID_REQUEST, f"message of {size:,} bytes is over the {MAX_FRAME:,}-byte limit; "
                                                   f"skipped")
            continue  # its body is read as lines and skipped until the next header
        body = await reader.read(size)
        if len(body) < size:
            return  # the stream ended inside a body
        handle(protocol, body)


def handle(protocol: Any, body: bytes) -> None:
    """One message body: parsed, checked to be a JSON-RPC message, structured and handled by pygls."""
    try:
        data = json.loads(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        reply_error(protocol, PARSE_ERROR, f"parse error: {exc}")
        return
    msg_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("jsonrpc") != "2.0" or not ("method" in data or "id" in data):
        reply_error(protocol, INVALID_REQUEST, "invalid request: not a JSON-RPC 2.0 message", msg_id)
        return
    if not isinstance(msg_id, str | int | type(None)) or ("method" in data and not isinstance(data["method"], str)):
        reply_error(protocol, INVALID_REQUEST, "invalid request: bad id or method", None)
        return
    try:
        message = protocol.structure_message(data)
    except JsonRpcException as exc:
        if "method" in data and "id" in data:
            reply_error(protocol, exc.code, exc.message or "invalid params", msg_id)
        return
    try:
        protocol.handle_message(message)
    except Exception:
        logger.exception("cannot handle a message")
        if "method" in data and "id" in data:
            reply_error(protocol, -32603, "internal error", msg_id)


def serve_io(server: Any, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
    """Run ``server`` (a pygls LanguageServer) over standard input and output with this reader."""
    from pygls.io_ import StdoutWriter

    stop = threading.Event()
    server._stop_event = stop
    server.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
    try:
        asyncio.run(read_messages(stop, stdin or sys.stdin.buffer, server.protocol))
    except BrokenPipeError:
        logger.error("the editor closed the connection")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
