"""Regular expressions from the config, matched in linear time (RE2): a pattern such as
``^idx_([a-z0-9]+_?)+$`` takes exponential time in Python's backtracking ``re`` on a name that almost
matches; RE2 has no backtracking, so no config value can hang a run. RE2 refuses backreferences and
lookaround: the config then fails with an error naming the key."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2


class PatternError(ValueError):
    """The pattern is not valid RE2 syntax (backreferences and lookaround are not)."""


@lru_cache(maxsize=256)
def compiled(pattern: str, ignore_case: bool = False, multi_line: bool = False) -> Any:
    options = re2.Options()
    options.log_errors = False  # the error reaches the user as a config error instead
    flags = ("i" if ignore_case else "") + ("m" if multi_line else "")
    try:
        return re2.compile(f"(?{flags}){pattern}" if flags else pattern, options=options)
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternError(f"{detail} (patterns are matched in linear time with RE2, which has no backreferences "
                           f"or lookaround)") from None


def search(pattern: str, text: str, ignore_case: bool = False, multi_line: bool = False) -> bool:
    return compiled(pattern, ignore_case, multi_line).search(text) is not None
