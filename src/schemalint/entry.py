"""The console entry: a run whose inputs have not changed since it last ran is answered from the whole-run memo
(memo.py) before the CLI, the engine or pglast is imported; a check for the daemon goes to it when one answers
(daemon_client.py); any other run goes to the full CLI in this process."""

from __future__ import annotations

import sys


def main() -> None:
    from schemalint import memo

    argv = sys.argv[1:]
    code = _fast_path(argv)
    if code is not None:
        sys.exit(code)
    from schemalint.cli.app import main as run

    if not memo.memoisable(argv):
        run()
        return
    with memo.recording(argv):
        run()


def _fast_path(argv: list[str]) -> int | None:
    """The memo's or the daemon's answer; None (run here) when neither has one. Whatever goes wrong on this path
    — a memo or config this code cannot read — the full CLI runs and says what it has to say."""
    from schemalint import memo

    try:
        code = memo.replay(argv)
        if code is not None:
            return code
        from schemalint import daemon_client

        if daemon_client.wants_daemon(argv):
            return daemon_client.run(argv, memo._code_fingerprint())
    except Exception:  # never a traceback from an optimisation: the normal run follows
        return None
    return None
