"""Progress of a verify run: on a terminal, one rich status line naming the file and statement that is
running and for how long; on a pipe, nothing at all."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any, Protocol


class Progress(Protocol):
    def statement(self, file: str, line: int, text: str) -> None: ...

    def filling(self, table: str, done: int, total: int) -> None: ...

    def __enter__(self) -> Progress: ...

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...


class Silent:
    """A pipe, a file or a library caller: no progress output."""

    def statement(self, file: str, line: int, text: str) -> None:
        return None

    def filling(self, table: str, done: int, total: int) -> None:
        return None

    def __enter__(self) -> Silent:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None


class _Running:
    """The status text, rendered anew on every refresh so the elapsed seconds keep counting."""

    def __init__(self) -> None:
        self.label = "starting PostgreSQL"
        self.since = time.monotonic()

    def __rich__(self) -> Any:
        from rich.text import Text

        return Text.assemble(("verify ", "bold"), self.label, (f"  {time.monotonic() - self.since:.1f}s", "dim"))


def _printable(text: str) -> str:
    """Control characters from file names or SQL shown visibly, never sent to the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class StatusLine:
    """A rich status line on stderr while statements run."""

    def __init__(self) -> None:
        from rich.console import Console

        self._running = _Running()
        self._status = Console(stderr=True).status(self._running, refresh_per_second=4)

    def statement(self, file: str, line: int, text: str) -> None:
        self._running.label = _printable(f"{file}:{line}  {text[:60]}")
        self._running.since = time.monotonic()

    def filling(self, table: str, done: int, total: int) -> None:
        width = 20
        filled = width * done // total if total else width
        bar = "█" * filled + "░" * (width - filled)
        self._running.label = _printable(f"filling {table}  {bar}  {done:,}/{total:,} rows")
        self._running.since = time.monotonic()

    def __enter__(self) -> StatusLine:
        self._status.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._status.stop()


def for_stderr() -> Progress:
    return StatusLine() if sys.stderr.isatty() else Silent()


__all__ = ["Progress", "Silent", "StatusLine", "for_stderr"]
