"""The ``schemalint`` command: check, verify, new, rules, explain, init, server. Exit codes:
0 = nothing at or above ``fail-on``; 1 = findings at or above it; 2 = usage, config or internal error."""

from schemalint.cli import check, daemon, info, new, verify
from schemalint.cli.app import app, main

__all__ = ["app", "check", "daemon", "info", "main", "new", "verify"]
