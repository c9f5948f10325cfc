"""Turning options and config into a run: the glue between the CLI and the engine."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from schemalint.config import ConfigError, Settings
from schemalint.engine import Engine, PreparedFile, RunResult, prepare
from schemalint.rules import all_rules, resolve, select_codes
from schemalint.sources import SourceFile, changed_since, collect


@dataclass(slots=True)
class RunRequest:
    paths: list[str]
    settings: Settings
    stdin_filename: str | None = None
    since: str | None = None
    use_cache: bool = True
    jobs: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


def enabled_codes(settings: Settings) -> set[str]:
    enabled, unknown = select_codes(settings.select, settings.extend_select, settings.ignore)
    for code in list(settings.severity) + [c for codes in settings.per_file_ignores.values() for c in codes]:
        if code.upper() != "ALL" and resolve(code) is None and not any(c.startswith(code.upper()) for c in all_rules()):
            unknown.append(code)
    if unknown:
        where = f"{settings.source}: " if settings.source else ""
        raise ConfigError(f"{where}unknown rule code or name: {', '.join(sorted(set(unknown)))}")
    settings.severity = {resolve(k) or k: v for k, v in settings.severity.items()}
    return enabled


def gather(request: RunRequest) -> list[SourceFile]:
    files: list[SourceFile] = []
    paths = [p for p in request.paths if p != "-"]
    if paths:
        files = collect(paths, request.settings.include, request.settings.exclude)
    if "-" in request.paths:
        data = sys.stdin.buffer.read()
        files.append(SourceFile(request.stdin_filename or "-", None, data=data))
    if request.since:
        changed = changed_since(request.since, Path.cwd())
        for f in files:
            f.judged = f.path is None or f.path.resolve() in changed
    return files


def prepare_all(files: list[SourceFile], jobs: int | None) -> list[PreparedFile]:
    """Parse every file; in parallel on the available cores when there are many."""
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    total = sum(len(f.data) if f.data is not None else _size(f.path) for f in files)
    if workers <= 1 or len(files) < 64 or total < 2_000_000:
        return [prepare(f) for f in files]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(prepare, files, chunksize=32))


def _size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path else 0
    except OSError:
        return 0


def execute(request: RunRequest) -> tuple[RunResult, dict[str, str]]:
    enabled = enabled_codes(request.settings)
    files = gather(request)
    prepared = prepare_all(files, request.jobs)
    engine = Engine(request.settings, enabled)
    result = engine.run(prepared)
    sources = {p.source.display: p.text.text for p in prepared if p.text is not None and p.source.judged}
    return result, sources
