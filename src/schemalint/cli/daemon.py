"""``schemalint daemon start|stop|status``: the warm process behind ``check --daemon`` (daemon.py)."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Annotated

import typer

from schemalint.cli.app import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, app, fail


@app.command("daemon")
def daemon_command(
    action: Annotated[str, typer.Argument(help="start, stop or status.")],
) -> None:
    """Start, stop or ask about the daemon that answers `check --daemon` (and checks where the config says
    `daemon = true`) from warm, forked workers."""
    from schemalint import daemon, daemon_client, memo

    if action == "status":
        answer = daemon.request("status")
        if answer is None:
            sys.stdout.write("schemalint daemon: not running\n")
            raise typer.Exit(EXIT_FINDINGS)
        current = answer.get("fingerprint") == memo._code_fingerprint()
        sys.stdout.write(f"schemalint daemon: running (pid {answer.get('pid')}, socket {daemon_client.socket_path()})"
                         f"{'' if current else '; it runs another version of schemalint: stop and start it'}\n")
        raise typer.Exit(EXIT_OK)
    if action == "stop":
        answer = daemon.request("stop")
        sys.stdout.write("schemalint daemon: stopped\n" if answer else "schemalint daemon: not running\n")
        raise typer.Exit(EXIT_OK)
    if action != "start":
        fail(f"daemon {action}: choose start, stop or status")
    if daemon.request("status") is not None:
        sys.stdout.write("schemalint daemon: already running\n")
        raise typer.Exit(EXIT_OK)
    subprocess.Popen([sys.executable, "-m", "schemalint.daemon", daemon_client.socket_path()],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True, close_fds=True)
    for _ in range(100):  # it imports everything once before it answers
        answer = daemon.request("status")
        if answer is not None:
            sys.stdout.write(f"schemalint daemon: started (pid {answer.get('pid')}, socket "
                             f"{daemon_client.socket_path()})\n")
            raise typer.Exit(EXIT_OK)
        time.sleep(0.1)
    fail("daemon start: it did not answer within 10 s")
    raise typer.Exit(EXIT_ERROR)
