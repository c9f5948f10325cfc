"""Turning options and config into a run: the glue between the CLI and the engine."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from schemalint import memo
from schemalint.cache import (
    ChainKey,
    ResultCache,
    content_digest,
    semantic_of,
    settings_fingerprint,
)
from schemalint.config import ConfigError, Settings
from schemalint.engine import Engine, PreparedFile, RunResult, baseline_notes, prepare
from schemalint.findings import Finding
from schemalint.model.schema import SchemaModel
from schemalint.rules import FAMILIES, Selection, all_rules, resolve, select_rules
from schemalint.snapshots import Snapshots, checkpoint
from schemalint.sources import frameworks, runners
from schemalint.sources.files import (
    SourceError,
    SourceFile,
    Walk,
    collect,
    decode,
    history_folder,
    inside,
    migration_key,
    order,
    printable_path,
    project_root,
    read_bytes,
)
from schemalint.sources.frameworks import Origin
from schemalint.sources.runners import RunnerChoice


@dataclass(slots=True)
class RunRequest:
    paths: list[str]
    settings: Settings
    stdin_filename: str | None = None
    since: str | None = None
    use_cache: bool = True
    jobs: int | None = None
    history: bool = True  # read the migrations before single named files as history
    stdin_data: bytes | None = None  # what '-' reads, when already read (check --fix -)
    history_folders: list[str] | None = None  # where the history is when history-paths is not configured
    stop: threading.Event | None = None  # set it to stop the run (raises engine.Cancelled): a stale editor lint
    framework: str | None = None  # "django": the migrations are Python, rendered to SQL (sources/frameworks.py)
    framework_settings: str | None = None  # Django's settings module
    framework_database: str = "default"  # Django's database alias
    python: str | None = None  # the project's interpreter, for the extractor


def rule_selection(settings: Settings) -> Selection:
    """The run's rules (preset, select, ignore, tenancy); a code or name that matches nothing is an error."""
    selection = select_rules(settings.select, settings.extend_select, settings.ignore, settings.preset,
                             settings.tenancy)
    unknown = list(selection.unknown)
    for code in list(settings.severity) + [c for codes in settings.per_file_ignores.values() for c in codes]:
        if code.upper() != "ALL" and resolve(code) is None and code.lower() not in FAMILIES \
                and not any(c.startswith(code.upper()) for c in all_rules()):
            unknown.append(code)
    if unknown:
        where = f"{settings.source}: " if settings.source else ""
        raise ConfigError(f"{where}unknown rule code or name: {', '.join(sorted(set(unknown)))}")
    settings.severity = {resolve(k) or k: v for k, v in settings.severity.items()}
    return selection


def enabled_codes(settings: Settings) -> set[str]:
    return set(rule_selection(settings).enabled)


def tenancy_evidence(model: SchemaModel, settings: Settings) -> str:
    """What in the history shows a multi-tenant schema ("" when nothing does)."""
    return model.tenancy_evidence(str(settings.option("tenancy", "column")),
                                  str(settings.option("tenancy", "setting"))) or ""


def _decide_tenancy(result: RunResult, selection: Selection, evidence: str) -> None:
    """The tenancy rules that came with the default set stay only when the history is multi-tenant; the
    summary says why they are on."""
    if selection.tenancy_forced:
        result.tenancy = f"on ({selection.tenancy_forced})"
    elif selection.tenancy_detected:
        if evidence:
            result.tenancy = f"on (detected from {evidence})"
        else:
            result.findings = [f for f in result.findings if f.code not in selection.tenancy_detected]


@dataclass(slots=True)
class Gathered:
    files: list[SourceFile]  # in migration order, read, history marked
    runner: RunnerChoice
    notes: list[str]  # for the summary: what was found but not checked
    origins: dict[str, Origin] = field(default_factory=dict)  # framework sources: display → the .py file


def gather(request: RunRequest) -> Gathered:
    """The files of the run, the runner that applies them, and what was left out and why."""
    files: list[SourceFile] = []
    settings = request.settings
    framework = _framework(request)
    if framework is not None:
        return _framework_sources(request, framework)
    first = Path(next((p for p in request.paths if p != "-"), request.stdin_filename or "."))
    root = project_root(first, settings.source)
    walk = Walk(confine=os.path.realpath(root))
    paths = [p for p in request.paths if p != "-"]
    if paths:
        files = collect(paths, settings.include, settings.exclude, walk)
    if "-" in request.paths:
        data = request.stdin_data if request.stdin_data is not None else sys.stdin.buffer.read()
        files.append(SourceFile(printable_path(request.stdin_filename or "-"), None, data=data))
    notes: list[str] = []
    if request.history:
        files = _with_history(files, request, root, notes)
    if request.since:
        from schemalint.sources.gitref import mark_since

        mark_since(files, request.since, Path.cwd())
    if request.settings.baseline:
        files = _with_baseline(files, request.settings)
    _read_all(files, settings.max_file_size)
    if walk.other_databases:
        count = len(walk.other_databases)
        databases = ", ".join(sorted({database for _, database in walk.other_databases}))
        notes.insert(0, f"skipped {count:,} file{'s' if count != 1 else ''} for other databases ({databases})")
    if walk.outside:
        notes.append(f"not followed: {len(walk.outside)} symlinked folder{'s' if len(walk.outside) != 1 else ''} "
                     f"that lead{'s' if len(walk.outside) == 1 else ''} outside the project ({walk.outside[0]}…)")
    not_checked = walk.not_checked
    if not_checked:
        shown = ", ".join(sorted(not_checked)[:3]) + (", …" if len(not_checked) > 3 else "")
        notes.append(f"{len(not_checked)} file{'s' if len(not_checked) != 1 else ''} not checked (pattern): {shown} "
                     f"— add their pattern (e.g. \"*.sql.*\") to include to check them")
    choice = runners.assign(settings.runner, settings.assume_in_transaction, files, root,
                            settings.no_transaction_markers, settings.option("flyway", "mixed"))
    return Gathered(files, choice, notes)


def _framework(request: RunRequest) -> str | None:
    """The framework whose Python migrations this run renders: asked for, configured, or detected (a folder with
    manage.py and apps' migrations); None for SQL files."""
    chosen = request.framework or request.settings.source_framework
    if chosen == "sql":
        return None
    if chosen is not None:
        return chosen
    if "-" in request.paths:
        return None
    detected = frameworks.detect(request.paths, request.settings.source)
    return detected[0] if detected is not None else None


def _framework_sources(request: RunRequest, framework: str) -> Gathered:
    settings = request.settings
    memo.depends_on_code()
    root, selectors, named_files = _framework_selection(request.paths, framework, settings.source)
    detected = frameworks.detect([str(root)])
    how = "configured" if (request.framework or settings.source_framework) or detected is None \
        else f"detected from {detected[1]}"
    if framework == "alembic":
        rendered = frameworks.alembic_sources(root, request.framework_settings, request.python or settings.python)
    else:
        rendered = frameworks.django_sources(
            root, request.framework_settings or settings.django_settings, request.framework_database,
            request.python or settings.python, settings.target_postgres, settings.default_schema)
    choice = runners.RunnerChoice(runners.RUNNERS[framework], f"source: {rendered.detail}, {how}")
    if selectors or named_files:  # app, app.0002_name or .py files named: the rest is history
        rendered.select(selectors, named_files)
    if request.since:  # only the migrations whose .py file changed are judged; the rest is history
        from schemalint.sources.gitref import Repository

        changed = Repository(request.since, Path.cwd()).changed()
        rendered.judge_only({s.display for s in rendered.files if s.path is not None and s.path.resolve() in changed})
    return Gathered(rendered.files, choice, rendered.notes, rendered.origins)


_APP_LABEL = re.compile(r"[A-Za-z_]\w*(?:\.\w+)?")


def _framework_selection(paths: list[str], framework: str, config: Path | None) -> tuple[Path, list[str], list[Path]]:
    """(the project's folder, Django app labels named, migration files named). The folder is the first one
    named, else the nearest one above a named file, inside its project, that holds manage.py / alembic.ini, else
    the current one."""
    marker = frameworks.MARKERS[framework]
    folder: Path | None = None
    selectors: list[str] = []
    files: list[Path] = []
    for given in (p for p in paths if p != "-"):
        path = Path(given)
        # a Django app's own folder (no manage.py in it) named as `shop` is the app label
        app_folder = framework == "django" and not (path / marker).is_file() and _APP_LABEL.fullmatch(given)
        if path.is_dir() and not app_folder:
            if folder is not None:
                raise SourceError(f"{given}: {framework} renders one project at a time (already {folder})")
            folder = path
        elif path.is_file():
            files.append(path)
        elif app_folder or (framework == "django" and _APP_LABEL.fullmatch(given)):
            selectors.append(given)
        else:
            what = "a migration file or an app label (app, app.0002_name)" if framework == "django" \
                else "a migration file"
            raise SourceError(f"{given}: not the project's folder, {what}")
    if folder is None:
        above = next((found for f in files if (found := frameworks.project_above(f, config, framework))), None)
        folder = above[0] if above is not None else Path(".")
    return folder, selectors, files


def _with_history(files: list[SourceFile], request: RunRequest, root: Path, notes: list[str]) -> list[SourceFile]:
    """When single files are checked (pre-commit, editors), the migrations before them are still the
    history: read for the schema model, nothing reported on them. From ``history-paths`` when configured,
    else from each named file's own migrations folder (the schema-model snapshots in the cache make that
    cheap on a warm cache); ``--no-history`` turns it off. History stays inside the project (``root``): never a
    folder outside it or the filesystem's root, never through a symlink that leaves it, and at most
    ``max-history-files`` files (a note says when that bound was hit)."""
    named = [p for p in request.paths if p != "-" and not Path(p).is_dir()]
    if request.stdin_filename and "-" in request.paths:
        named.append(request.stdin_filename)
    if not named:
        return files
    # a file at the top of the project has no migrations folder of its own: the whole tree is not its history
    own = {history_folder(Path(n)) for n in named}
    own = {folder for folder in own if folder.resolve() != Path.cwd().resolve()}
    configured = request.settings.history_paths or request.history_folders or sorted(str(f) for f in own)
    confine = os.path.realpath(root)
    folders = [f for f in configured if Path(f).is_dir() and inside(os.path.realpath(f), confine)
               and Path(f).resolve() != Path(Path(f).resolve().anchor)]
    if not folders:
        return files
    walk = Walk(confine=confine, max_files=request.settings.max_history_files)
    try:
        candidates = collect(folders, request.settings.include, request.settings.exclude, walk)
    except SourceError:
        return files
    if walk.truncated:
        notes.append(f"history: read the first {walk.max_files:,} files of {', '.join(folders)} only "
                     f"(max-history-files); set history-paths to the migrations folder")
    known = {_norm(f) for f in files}
    last = max(migration_key(_norm(f)) for f in files) if files else None
    history = []
    for candidate in candidates:
        if _norm(candidate) in known or (last is not None and migration_key(_norm(candidate)) >= last):
            continue
        candidate.judged = False
        history.append(candidate)
    return order(files + history) if history else files


def _with_baseline(files: list[SourceFile], settings: Settings) -> list[SourceFile]:
    """The configured baseline (a schema dump) first, as history: its objects are existing, it is never
    reported. Relative to the config file's folder."""
    assert settings.baseline is not None
    base = settings.source.parent if settings.source is not None else Path.cwd()
    path = Path(settings.baseline) if Path(settings.baseline).is_absolute() else base / settings.baseline
    where = f"{settings.source}: " if settings.source else ""
    shown = settings.baseline if len(settings.baseline) <= 200 else settings.baseline[:200] + "…"
    try:
        found = path.is_file()
    except OSError as exc:  # a name too long, a loop of links
        raise SourceError(f"{where}baseline {shown}: {exc.strerror or exc}") from None
    if not found:
        raise SourceError(f"{where}baseline {shown}: no such file")
    display = os.path.relpath(path) if not Path(settings.baseline).is_absolute() else str(path)
    resolved = path.resolve()
    rest = [f for f in files if f.path is None or f.path.resolve() != resolved]
    return [SourceFile(Path(display).as_posix(), path, judged=False, baseline=True), *rest]


def _norm(f: SourceFile) -> str:
    return os.path.normpath(f.path if f.path is not None else f.display)


def _deep_worker() -> None:
    # deep parse trees are pickled back to the parent: room for them in the worker's main thread (8 MB)
    sys.setrecursionlimit(20_000)


def prepare_all(files: list[SourceFile], jobs: int | None) -> list[PreparedFile]:
    """Parse every file. With ``jobs`` > 1, in a process pool — off by default: measured on the corpus
    (1,583 files, 2 cores) it takes 0.84 s against 0.35 s serially, as the parse trees must be pickled
    back to the main process, which costs more than parsing them (see benchmarks/README.md)."""
    workers = jobs or 1
    if workers <= 1 or len(files) < 2:
        return [prepare(f) for f in files]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, initializer=_deep_worker) as pool:
        return list(pool.map(prepare, files, chunksize=32))


def _cache_dir(settings: Settings) -> Path:
    base = settings.source.parent if settings.source is not None else Path.cwd()
    return base / settings.cache_dir


def _read_all(files: list[SourceFile], limit: int) -> None:
    for f in files:
        if f.data is None and f.path is not None and f.unreadable is None:
            f.data, f.unreadable = read_bytes(f.path, limit)  # an unreadable one is SL002 when prepared


def execute(request: RunRequest) -> tuple[RunResult, dict[str, str]]:
    selection = rule_selection(request.settings)
    gathered = gather(request)
    files, runner = gathered.files, gathered.runner
    engine = Engine(request.settings, set(selection.enabled))
    engine.stop = request.stop
    engine.runner = runner.runner
    if not request.use_cache:
        sources: dict[str, str] = {}

        def parsed() -> Iterator[PreparedFile]:
            # one file's parse tree at a time (peak memory: 123 MB → 84 MB on the corpus); only the texts of
            # judged files are kept, for the report's code frames
            for prepared in (prepare_all(files, request.jobs) if (request.jobs or 1) > 1 else map(prepare, files)):
                if prepared.text is not None and prepared.source.judged:
                    sources[prepared.source.display] = prepared.text.text
                yield prepared

        result = engine.run(parsed())
        result.found = len(files)
        result.not_fixable = _not_fixable(files)
        result.runner = runner.summary
        result.notes = gathered.notes
        _decide_tenancy(result, selection, tenancy_evidence(engine.model, request.settings))
        _framework_findings(result, sources, gathered, request.settings)
        return result, sources

    fingerprint = settings_fingerprint(request.settings, set(selection.enabled))
    cache = ResultCache(_cache_dir(request.settings), fingerprint)
    cache.load()
    result = RunResult(files=sum(1 for f in files if f.judged), found=len(files), runner=runner.summary,
                       notes=gathered.notes, not_fixable=_not_fixable(files))
    snapshots = Snapshots(_cache_dir(request.settings), fingerprint)
    texts: dict[str, str] = {}
    # A file's key chains its own content with, for every earlier file, what the schema model took from it
    # (its statements' text, comments between them aside: cache.ChainKey). Keys are made in order: the
    # cache records each file's semantic digest, and a file it cannot answer for is parsed anyway.
    chain = ChainKey()
    evidence = ""  # what shows a multi-tenant schema, in the model after the latest file
    model_at = -1  # the schema model is up to date through this file
    pending: list[int] = []  # cache hits since then: replayed only if a later file needs the model
    for index, source in enumerate(files):
        role = (f"{source.role}:{source.transaction}:{source.down_sibling is not None}:"
                f"{source.at_ref.cache_token() if source.at_ref else ''}")
        content = content_digest(source.data)
        key = chain.key(source.display, role, source.judged, content)
        hit = cache.get(source.display, key) if source.path is not None else None
        semantic = cache.semantic(source.display, content) if hit is not None else None
        if hit is not None and semantic is not None:
            findings = hit
            evidence = cache.tenancy(source.display)
            pending.append(index)
        else:
            if model_at < index - 1:
                model_at = _catch_up(engine, snapshots, files, chain, model_at, pending, texts)
            current = prepare(source)
            findings, errors = engine.lint_file_safely(current)
            if current.text is not None and findings:
                texts[source.display] = current.text.text  # for the report's code frames
            semantic = semantic_of(current)
            evidence = tenancy_evidence(engine.model, request.settings)
            if errors:
                result.internal_errors.extend(e for e in errors if source.judged)
            elif source.path is not None:
                cache.put(source.display, key, findings, content, semantic, evidence)
            model_at = index
            pending = []
        chain.extend(source.display, role, source.judged, semantic, key)
        if model_at == index and checkpoint(index, len(files)) and not snapshots.has(key):
            snapshots.save(key, engine.model)
        if source.judged:
            result.findings.extend(findings)
        result.incomplete.extend(baseline_notes(source, findings))
    snapshots.prune()
    _decide_tenancy(result, selection, evidence)
    result.findings.sort(key=Finding.sort_key)
    cache.save()
    sources = _texts(files, {f.file for f in result.findings}, texts)
    _framework_findings(result, sources, gathered, request.settings)
    return result, sources


def _framework_findings(result: RunResult, sources: dict[str, str], gathered: Gathered, settings: Settings) -> None:
    """Findings on SQL a framework rendered, moved to the .py migrations (and their code frames to the Python)."""
    if not gathered.origins:
        return
    selected = {code.upper() for code in [*(settings.select or []), *settings.extend_select]}
    result.findings = frameworks.to_python(result.findings, gathered.origins, selected)
    result.findings.sort(key=Finding.sort_key)
    for display, origin in gathered.origins.items():
        sources[display] = origin.python_text


def _not_fixable(files: list[SourceFile]) -> dict[str, str]:
    return {f.display: f"{f.shared_with} run this file too (it names no database); fix it by hand"
            for f in files if f.shared_with}


def _catch_up(engine: Engine, snapshots: Snapshots, files: list[SourceFile], chain: ChainKey, model_at: int,
              pending: list[int], texts: dict[str, str]) -> int:
    """Bring the schema model up to the file before the next miss: from the newest snapshot among the cache
    hits since the model was last current (else from where it is), replaying the hits after it."""
    for position in range(len(pending) - 1, -1, -1):
        index = pending[position]
        if snapshots.has(chain.keys[index]):
            model = snapshots.load(chain.keys[index])
            if model is not None:
                engine.model = model
                model_at = index
                pending = pending[position + 1 :]
            break
    for index in pending:
        if index > model_at:
            replayed = prepare(files[index])
            engine.replay(replayed)
            if replayed.text is not None:
                texts[files[index].display] = replayed.text.text  # its cached findings' code frames
            model_at = index
    return model_at


def _texts(files: list[SourceFile], wanted: set[str], known: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in files:
        if f.display not in wanted:
            continue
        if f.display in known:
            out[f.display] = known[f.display]
        elif f.data is not None:
            decoded = decode(f.data)
            if decoded.text is not None:
                out[f.display] = decoded.text
    return out
