"""The result cache (like ruff's): ``.schemalint_cache/`` keyed on what a file's findings depend on.

A file's findings depend on its content, the settings, the schemalint version — and, because rules
read the schema model, on every file before it in migration order. So each file's key chains, for every
earlier file, what the model took from it (its statements, not the comments between them): change one
file's SQL and it and every later file are linted again; change only its comments and it alone is. The
model before a changed file comes from the nearest snapshot (snapshots.py) and a few replayed files.

The cache file is written to a temporary file and renamed into place, so concurrent runs never
leave a torn file behind (the last writer wins). It is signed with the per-user key (signing.py): a file edited by
anyone else (an emptied entry would hide a finding) does not verify and is rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemalint import __version__, signing
from schemalint.atomic import write_atomically
from schemalint.config import Settings
from schemalint.findings import Edit, Finding, Severity, Span

if TYPE_CHECKING:
    from schemalint.engine import PreparedFile

CACHE_FORMAT = 6  # 3: a fix records whether it is safe; 4: entries record content and semantic digests;
# 5: and what showed a multi-tenant schema after the file; 6: the file is signed (signing.py)
KEEP_RESULT_FILES = 4  # settings variants kept in the cache folder


def _code_fingerprint() -> str:
    """The installed rules' own files (size and mtime): an edited rule invalidates the cache even
    without a version bump (editable installs, local patches)."""
    package = Path(__file__).parent
    parts = []
    for path in sorted(package.rglob("*.py")):
        with contextlib.suppress(OSError):
            stat = path.stat()
            parts.append(f"{path.relative_to(package)}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def settings_fingerprint(settings: Settings, enabled: set[str]) -> str:
    data = {
        "version": __version__,
        "code": _code_fingerprint(),
        "format": CACHE_FORMAT,
        "enabled": sorted(enabled),
        "target": settings.target_postgres,
        "assume": settings.assume_in_transaction,
        "runner": settings.runner,
        "severity": {k: int(v) for k, v in sorted(settings.severity.items())},
        "per_file_ignores": settings.per_file_ignores,
        "default_schema": settings.default_schema,
        "options": settings.options,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:24]


def content_digest(data: bytes | None) -> str:
    return hashlib.sha256(data if data is not None else b"\xff<unreadable>").hexdigest()


class ChainKey:
    """Per file, a key over its own (display path, role, judged, content digest) and, for every file before
    it, what the schema model took from it: (display path, role, judged, semantic digest — its statements'
    text, the comments between them aside). A comment-only edit of one file then re-lints that file alone."""

    def __init__(self) -> None:
        self._running = hashlib.sha256()
        self.keys: list[str] = []

    def key(self, display: str, role: str, judged: bool, content: str) -> str:
        own = self._running.copy()
        own.update(_head(display, role, judged) + content.encode())
        return own.hexdigest()

    def extend(self, display: str, role: str, judged: bool, semantic: str, key: str) -> None:
        self._running.update(_head(display, role, judged) + semantic.encode())
        self.keys.append(key)


def _head(display: str, role: str, judged: bool) -> bytes:
    return display.encode() + b"\0" + role.encode() + (b"\1" if judged else b"\0")


def semantic_of(prepared: PreparedFile) -> str:
    """What the schema model takes from a parsed file: each statement's section and text (so comments and
    blank lines between statements do not count; where the down marker sits does), the heads of statements
    that failed to parse, and the parser's errors."""
    digest = hashlib.sha256(b"unreadable" if prepared.parsed is None else b"parsed")
    parsed = prepared.parsed
    if parsed is not None:
        for stmt in parsed.statements:
            digest.update(stmt.section.encode() + b"\0" + stmt.text.encode("utf-8", "surrogatepass") + b"\1")
        for head in parsed.recovered:
            digest.update(b"recovered\0" + head.text.encode("utf-8", "surrogatepass") + b"\1")
        for error in parsed.errors:
            digest.update(b"error\0" + error.message.encode("utf-8", "surrogatepass") + b"\1")
    return digest.hexdigest()


def finding_to_json(f: Finding) -> list[Any]:
    fix = [f.fix.start, f.fix.end, f.fix.replacement, f.fix.safe] if f.fix else None
    return [f.code, f.name, int(f.severity), f.file, [f.span.line, f.span.column, f.span.end_line, f.span.end_column], f.message, f.help, fix]


def finding_from_json(raw: list[Any]) -> Finding:
    code, name, severity, file, span, message, help_text, fix = raw
    edit = Edit(*fix) if fix else None
    return Finding(code, name, Severity(severity), file, Span(*span), message, help_text, edit)


class ResultCache:
    def __init__(self, directory: Path, fingerprint: str) -> None:
        self.directory = directory
        self.path = directory / f"results-{fingerprint}.json"
        self.entries: dict[str, dict[str, Any]] = {}
        self.dirty = False

    def load(self) -> None:
        key = signing.secret()
        try:
            signed_data = self.path.read_bytes() if key is not None else b""
        except OSError:
            return  # missing: built by this run
        payload = signing.verified(key, self.path.name.encode(), signed_data) if key is not None else None
        if payload is None:
            return  # not ours, edited or corrupt: rebuilt by this run (an emptied entry never hides a finding)
        try:
            data = json.loads(payload)
        except ValueError:
            return
        if isinstance(data, dict) and data.get("format") == CACHE_FORMAT and isinstance(data.get("files"), dict):
            self.entries = {k: v for k, v in data["files"].items() if isinstance(k, str) and isinstance(v, dict)}

    def get(self, display: str, key: str) -> list[Finding] | None:
        """The cached findings, or None — also for an entry that is malformed in any way (it is then
        linted again and rewritten: a bad cache file never stops a run)."""
        entry = self.entries.get(display)
        if not entry or entry.get("key") != key:
            return None
        try:
            findings = [finding_from_json(raw) for raw in entry["findings"]]
        except Exception:
            return None
        return findings if all(isinstance(f.message, str) and isinstance(f.file, str) for f in findings) else None

    def semantic(self, display: str, content: str) -> str | None:
        """The semantic digest recorded for this exact content, if any (a cache hit without one is parsed)."""
        entry = self.entries.get(display)
        if entry and entry.get("content") == content and isinstance(entry.get("semantic"), str):
            return str(entry["semantic"])
        return None

    def tenancy(self, display: str) -> str:
        """What showed a multi-tenant schema after this file, when it was linted ("" for nothing)."""
        evidence = self.entries.get(display, {}).get("tenancy", "")
        return evidence if isinstance(evidence, str) else ""

    def put(self, display: str, key: str, findings: list[Finding], content: str = "", semantic: str = "",
            tenancy: str = "") -> None:
        self.entries[display] = {"key": key, "findings": [finding_to_json(f) for f in findings],
                                 "content": content, "semantic": semantic, "tenancy": tenancy}
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            gitignore = self.directory / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("# created by schemalint\n*\n", encoding="utf-8")

            key = signing.secret()
            if key is None:
                return  # nowhere to keep a key: nothing is cached across runs
            payload = json.dumps({"format": CACHE_FORMAT, "files": self.entries}, separators=(",", ":")).encode()
            write_atomically(self.path, signing.signed(key, self.path.name.encode(), payload))
        except OSError:
            return  # a cache that cannot be written is not an error
        self.prune()

    def prune(self, keep: int = KEEP_RESULT_FILES) -> None:
        """Keep the cache folder bounded: only the most recently used result files (one per settings
        variant) stay."""
        with contextlib.suppress(OSError):
            files = sorted(self.directory.glob("results-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in files[keep:]:
                if old != self.path:
                    with contextlib.suppress(OSError):
                        old.unlink()
            # the schema-model snapshots of settings variants whose results were pruned go too
            kept = {p.name.removeprefix("results-").removesuffix(".json") for p in self.directory.glob("results-*.json")}
            for folder in self.directory.glob("snapshots-*"):
                if folder.name.removeprefix("snapshots-") not in kept:
                    shutil.rmtree(folder, ignore_errors=True)
