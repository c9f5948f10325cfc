"""PostgreSQL's parser, with a memory budget for huge statements.

libpg_query builds the whole raw parse tree before PostgreSQL's checks can refuse it: a 10 MB single
expression (``SELECT 1+1+…``) takes over 1 GB before "stack depth limit exceeded", and when memory runs out
libpg_query ends the process ("Terminating process due to FATAL error") — no finding, no report, the rest
of the files unchecked. So a statement of ISOLATE_CHARS or more is parsed in a forked child whose address
space may grow by BUDGET at most; its JSON comes back through a pipe. A child that runs out of memory is one
honest syntax finding for that statement ("needs more memory to parse than schemalint allows"), and the run
goes on. Where there is no fork (Windows), the parser runs in the process as before.
"""

from __future__ import annotations

import os
from typing import Any

from pglast import parser as _pg

ISOLATE_CHARS = 4_000_000
BUDGET = 400 * 1024 * 1024  # bytes of address space the parser may add: a 10 MB INSERT … VALUES needs ~300 MB


def parse_sql_json(text: str) -> str:
    """``pglast.parser.parse_sql_json(text)``; raises ``pglast.parser.ParseError`` as it does."""
    if len(text) < ISOLATE_CHARS or not hasattr(os, "fork"):
        return str(_pg.parse_sql_json(text))
    import pickle  # only for the rare huge statement: not part of every start-up
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: parse, send the result, exit without running any of the parent's clean-up
        status = 1
        try:
            os.close(read_end)
            _quiet_stderr()
            _limit_address_space(BUDGET)
            try:
                reply = b"J" + str(_pg.parse_sql_json(text)).encode("utf-8", "surrogatepass")
            except _pg.ParseError as exc:
                reply = b"E" + pickle.dumps(tuple(exc.args))
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(reply)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        reply = pipe.read()
    _, wait_status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(wait_status) != 0 or not reply:
        raise _pg.ParseError(
            f"this statement ({len(text) / 1e6:.1f} MB) needs more memory to parse than schemalint allows "
            f"({BUDGET // (1024 * 1024)} MB): PostgreSQL's parser builds its whole tree first; split it into "
            "smaller statements", 0)
    if reply[:1] == b"E":
        args: tuple[Any, ...] = pickle.loads(reply[1:])  # our own child's reply, through our own pipe
        raise _pg.ParseError(*args)
    return reply[1:].decode("utf-8", "surrogatepass")


def _quiet_stderr() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # libpg_query's memory dump on a FATAL error is not the user's output


def _limit_address_space(extra: int) -> None:
    import resource  # POSIX only, like fork

    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            current = int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:
        return  # no /proc (macOS): isolated, without a limit
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = current + extra
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
