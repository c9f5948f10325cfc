"""``check --fix``: apply the safe, mechanical edits findings carry. Nothing else ever writes a user's file.

A file is identified by what it is on disk (device and inode), so two spellings of one path are fixed
once; an edited text must parse as well as the original did before it is written; a symlink is written
through to its target, a file with several hard links in place, and owner, group and mode are kept; a
read-only file is never rewritten."""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from schemalint.atomic import write_atomically
from schemalint.findings import Edit, Finding

_BOM = b"\xef\xbb\xbf"


@dataclass(slots=True)
class FixReport:
    applied: int = 0  # edits written
    files: int = 0  # files changed
    refused: list[str] = field(default_factory=list)  # one line each: which file was not fixed, and why
    diff: str = ""  # dry run (--diff): the unified diff of what would be written


def apply_fixes(findings: list[Finding], skip: set[str], unsafe: bool = False, dry_run: bool = False,
                refuse: dict[str, str] | None = None) -> FixReport:
    """Apply every finding's edit to its file (not to ``skip``, e.g. standard input; never to ``refuse``'s files,
    saying why); unsafe edits only with ``unsafe``. ``dry_run``: write nothing, put the unified diff in the
    report."""
    report = FixReport()
    # never a file that is not PostgreSQL as schemalint parsed it (another database's dialect, a template, a typo)
    unparsed = {f.file: f"it does not parse as PostgreSQL (SL001 at line {f.span.line}); fix that first"
                for f in reversed(findings) if f.code in ("SL001", "SL002")}
    unparsed.update(refuse or {})
    by_identity: dict[tuple[int, int], tuple[Path, set[Edit]]] = {}
    for finding in findings:
        if finding.fix is None or finding.file in skip or (not finding.fix.safe and not unsafe):
            continue
        if finding.file in unparsed:
            refusal = f"{finding.file}: not fixed: {unparsed[finding.file]}"
            if refusal not in report.refused:
                report.refused.append(refusal)
            continue
        path = Path(finding.file)
        try:
            info = path.stat()
        except OSError:
            continue
        first_spelling, edits = by_identity.setdefault((info.st_dev, info.st_ino), (path, set()))
        if first_spelling == path:  # under another spelling the same file carries the same edits: once is enough
            edits.add(finding.fix)
    for path, edits in by_identity.values():
        if dry_run:
            count, problem, diff = _diff_of(path, edits)
            report.diff += diff
        else:
            count, problem = _apply_to(path, edits)
        if problem is not None:
            report.refused.append(f"{path}: not fixed: {problem}")
        elif count:
            report.applied += count
            report.files += 1
    return report


def _apply_to(path: Path, edits: set[Edit]) -> tuple[int, str | None]:
    target = path.resolve()  # a symlink is written through to the file it points at
    try:
        info = target.stat()
        data = target.read_bytes()
    except OSError as exc:
        return 0, f"cannot read it ({exc.strerror or exc})"
    if not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        return 0, "the file is read-only"
    bom = data.startswith(_BOM)
    try:
        text = data[len(_BOM) if bom else 0 :].decode("utf-8")
    except UnicodeDecodeError:
        return 0, "it is not UTF-8 text"
    fixed, count, problem = fixed_text(text, edits)
    if problem is not None or not count:
        return 0, problem
    payload = (_BOM if bom else b"") + fixed.encode("utf-8")
    try:
        if info.st_nlink > 1:
            _write_in_place(target, payload)  # keeps every hard link pointing at the fixed file
        else:
            write_atomically(target, payload, keep_mode_of=target)
            with contextlib.suppress(OSError):
                written = os.stat(target)
                if (written.st_uid, written.st_gid) != (info.st_uid, info.st_gid):
                    os.chown(target, info.st_uid, info.st_gid)
    except OSError as exc:
        return 0, f"cannot write it ({exc.strerror or exc})"
    return count, None


def _diff_of(path: Path, edits: set[Edit]) -> tuple[int, str | None, str]:
    import difflib

    try:
        data = path.resolve().read_bytes()
        text = data[len(_BOM) if data.startswith(_BOM) else 0 :].decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return 0, f"cannot read it ({exc})", ""
    fixed, count, problem = fixed_text(text, edits)
    if problem is not None or not count:
        return 0, problem, ""
    lines = difflib.unified_diff(text.splitlines(keepends=True), fixed.splitlines(keepends=True),
                                 fromfile=f"a/{path}", tofile=f"b/{path}")
    return count, None, "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def fixed_text(text: str, edits: set[Edit]) -> tuple[str, int, str | None]:
    """``text`` with the edits applied (the last first, so offsets stay valid; an edit overlapping one
    already applied waits for the next run): (fixed text, edits applied, why nothing may be written)."""
    count = 0
    boundary = len(text) + 1
    fixed = text
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        if edit.end > boundary or edit.end > len(fixed) or edit.start < 0:
            continue
        fixed = fixed[: edit.start] + edit.replacement + fixed[edit.end :]
        boundary = edit.start
        count += 1
    if not count:
        return text, 0, None
    from schemalint.sql.parse import parse

    if len(parse(fixed).errors) > len(parse(text).errors):
        return text, 0, "the fixed text would not parse (nothing was written)"
    return fixed, count, None


def _write_in_place(path: Path, payload: bytes) -> None:
    with open(path, "r+b") as handle:
        handle.write(payload)
        handle.truncate()


__all__ = ["FixReport", "apply_fixes", "fixed_text"]
