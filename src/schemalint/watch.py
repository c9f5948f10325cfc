"""``check --watch``: run the check, then again whenever a watched file changes (watchfiles, debounced)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path


def watch_and_check(paths: list[str], check: Callable[[], int]) -> int:
    """Run ``check`` now and after every batch of changes to .sql/.toml files under ``paths``, until Ctrl-C;
    returns the last run's exit code."""
    from watchfiles import watch

    def relevant(_change: object, path: str) -> bool:
        return path.endswith((".sql", ".toml", ".conf")) and "/.schemalint_cache" not in path

    code = check()
    roots = [str(Path(p)) for p in paths]
    sys.stderr.write(f"schemalint: watching {', '.join(roots)} for changes (Ctrl-C to stop)\n")
    sys.stderr.flush()
    try:
        for _changes in watch(*roots, watch_filter=relevant, debounce=300, raise_interrupt=False):
            sys.stdout.write("\n")
            code = check()
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    return code
