"""Access to a real PostgreSQL for the verify tests: a throwaway cluster per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from schemalint.verify.server import Connection, ServerError, find_bindir, throwaway_cluster


def server_or_skip() -> Iterator[Connection]:
    try:
        bindir = find_bindir(os.environ.get("SCHEMALINT_PG_BIN"))
    except ServerError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL server binaries are required in CI: {exc}")
        pytest.skip(str(exc))
    with throwaway_cluster(bindir) as conn:
        yield conn
