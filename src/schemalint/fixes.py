"""``check --fix``: apply the safe, mechanical edits findings carry. Nothing else ever writes a user's file."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

from schemalint.findings import Edit, Finding

_BOM = b"\xef\xbb\xbf"


def apply_fixes(findings: list[Finding], skip: set[str]) -> tuple[int, int]:
    """Apply every finding's edit to its file (not to ``skip``, e.g. standard input).
    Returns (edits applied, files changed)."""
    by_file: dict[str, list[Edit]] = defaultdict(list)
    for finding in findings:
        if finding.fix is not None and finding.file not in skip:
            by_file[finding.file].append(finding.fix)
    applied = changed = 0
    for file, edits in by_file.items():
        count = _apply_to(Path(file), edits)
        if count:
            applied += count
            changed += 1
    return applied, changed


def _apply_to(path: Path, edits: list[Edit]) -> int:
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    bom = data.startswith(_BOM)
    try:
        text = data[len(_BOM) if bom else 0 :].decode("utf-8")
    except UnicodeDecodeError:
        return 0
    count = 0
    boundary = len(text) + 1
    for edit in sorted(set(edits), key=lambda e: (e.start, e.end), reverse=True):
        if edit.end > boundary or edit.end > len(text) or edit.start < 0:
            continue  # overlaps an edit already applied: the next run picks it up
        text = text[: edit.start] + edit.replacement + text[edit.end :]
        boundary = edit.start
        count += 1
    if not count:
        return 0
    payload = (_BOM if bom else b"") + text.encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".schemalint")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return 0
    return count
