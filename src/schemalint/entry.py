"""The console entry: a run whose inputs have not changed since it last ran is answered from the whole-run memo
(memo.py) before the CLI, the engine or pglast is imported; a check for the daemon goes to it when one answers
(daemon_client.py); any other run goes to the full CLI in this process."""

from __future__ import annotations

import sys


def main() -> None:
    from schemalint import memo

    argv = sys.argv[1:]
    code = memo.replay(argv)
    if code is not None:
        sys.exit(code)
    from schemalint import daemon_client

    if daemon_client.wants_daemon(argv):
        code = daemon_client.run(argv, memo._code_fingerprint())
        if code is not None:
            sys.exit(code)
    from schemalint.cli.app import main as run

    if not memo.memoisable(argv):
        run()
        return
    with memo.recording(argv):
        run()
