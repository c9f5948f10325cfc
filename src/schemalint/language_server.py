"""``schemalint server``: the Language Server Protocol over stdio (pygls), for editors.

Diagnostics on open, on change (debounced) and on save, with the project's config (found from the file's
folder upwards) and the migrations before the file as history (``history-paths``, else the file's own
migrations folder). Code actions: apply a finding's fix, ignore a code for one statement, ignore it in the
file. Hover on a diagnostic shows its rule's page. An internal error becomes a log message: the server keeps
running."""

from __future__ import annotations

import asyncio
import threading
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from schemalint import __version__
from schemalint.config import Settings
from schemalint.engine import Cancelled
from schemalint.findings import Finding, Severity
from schemalint.sources.files import history_folder
from schemalint.sql.text import SourceText

DEBOUNCE_SECONDS = 0.3


@dataclass(slots=True)
class Linted:
    version: int | None
    text: str
    findings: list[Finding] = field(default_factory=list)


def lint_text(path: Path, text: str, stop: threading.Event | None = None) -> list[Finding]:
    """The findings for one document: config and history as ``schemalint check <path>`` would use them, the
    text as the editor has it (unsaved changes included). Setting ``stop`` ends the run early (engine.Cancelled):
    a newer change made it stale."""
    from schemalint.config import find_config, load_settings
    from schemalint.deep import run_deep
    from schemalint.run import RunRequest, execute

    settings = load_settings(find_config(path.parent))
    if path.suffix == ".py":
        return _lint_python_migration(path, settings, stop)
    display = str(path)
    request = RunRequest(["-"], settings, stdin_filename=display, stdin_data=text.encode("utf-8"),
                         history_folders=[str(history_folder(path))], stop=stop)
    result, _ = run_deep(lambda: execute(request))
    return [f for f in result.findings if f.file == display]


def _lint_python_migration(path: Path, settings: Settings, stop: threading.Event | None) -> list[Finding]:
    """A Django or Alembic migration, as ``schemalint check <file>`` judges it: the project rendered as saved on
    disk (the project's own interpreter renders it, so unsaved changes cannot be), this migration judged after the
    ones before it. Any other Python file is not a migration: nothing is said about it."""
    from schemalint.deep import run_deep
    from schemalint.run import RunRequest, execute
    from schemalint.sources import frameworks

    # where Django and Alembic keep migrations (as the schemalint-python pre-commit hook): opening any other
    # Python file of the project renders nothing
    if path.parent.name not in ("migrations", "versions") or frameworks.detect([str(path)], settings.source) is None:
        return []
    result, _ = run_deep(lambda: execute(RunRequest([str(path)], settings, stop=stop)))
    return [f for f in result.findings if Path(f.file).resolve() == path.resolve()]


def _range(document: TextDocument, lines: Sequence[str], f: Finding) -> types.Range:
    # spans are 1-based characters with an inclusive end; LSP is 0-based, end exclusive, in the client's units.
    # ``lines`` is the document's lines, split once per publish (TextDocument.lines splits the whole text on
    # every call: once per finding made a 40,000-line document quadratic)
    server_range = types.Range(types.Position(f.span.line - 1, f.span.column - 1),
                               types.Position(f.span.end_line - 1, f.span.end_column))
    return document.position_codec.range_to_client_units(lines, server_range)


def _position(text: SourceText, document: TextDocument, lines: Sequence[str], offset: int) -> types.Position:
    line, column = text.position(offset)
    return document.position_codec.position_to_client_units(lines, types.Position(line - 1, column - 1))


def rule_url(f: Finding) -> str:
    """The rule's page: the one shipped with the installed package (an editor opens it beside the code)."""
    from schemalint.docs import page_url
    from schemalint.rules import all_rules

    return page_url(all_rules()[f.code])


def diagnostic(document: TextDocument, f: Finding, lines: Sequence[str] | None = None) -> types.Diagnostic:
    return types.Diagnostic(
        range=_range(document, document.lines if lines is None else lines, f),
        message=f.message + (f"\n\n{f.help}" if f.help else ""),
        severity=types.DiagnosticSeverity.Error if f.severity == Severity.ERROR else types.DiagnosticSeverity.Warning,
        code=f.code,
        code_description=types.CodeDescription(href=rule_url(f)),
        source="schemalint",
        data={"name": f.name},
    )


class SchemalintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("schemalint", __version__)
        self.linted: dict[str, Linted] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.stops: dict[str, threading.Event] = {}  # the running lint of each document, to stop when stale

    def log(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=f"schemalint: {message}"))

    async def relint(self, uri: str, delay: float = 0.0) -> None:
        """Lint the document now (or after ``delay``, cancelled by a newer change) and publish."""
        previous = self.pending.pop(uri, None)
        if previous is not None and not previous.done():
            previous.cancel()
        running = self.stops.pop(uri, None)
        if running is not None:
            running.set()  # the lint in its worker thread stops at its next statement
        task = asyncio.ensure_future(self._relint(uri, delay))
        self.pending[uri] = task

    async def _relint(self, uri: str, delay: float) -> None:
        try:
            if delay:
                await asyncio.sleep(delay)
            document = self.workspace.get_text_document(uri)
            path = Path(to_fs_path(uri) or uri)
            text = document.source
            version = document.version
            loop = asyncio.get_running_loop()
            stop = self.stops[uri] = threading.Event()
            try:
                findings = await loop.run_in_executor(None, lint_text, path, text, stop)
            except Cancelled:
                return  # a newer change started its own run
            except Exception as exc:  # a config error or a bug: said once in the log and on the document
                self.log(f"{path}: {type(exc).__name__}: {exc}", types.MessageType.Error)
                self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                    uri=uri, version=version, diagnostics=[types.Diagnostic(
                        range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                        message=f"schemalint could not check this file: {exc}",
                        severity=types.DiagnosticSeverity.Error, source="schemalint")]))
                return
            current = self.workspace.get_text_document(uri)
            if current.version != version:
                return  # the document changed meanwhile: the newer run publishes
            self.linted[uri] = Linted(version, text, findings)
            lines = current.lines
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                uri=uri, version=version, diagnostics=[diagnostic(current, f, lines) for f in findings]))
        except asyncio.CancelledError:
            raise
        except Exception:
            self.log("internal error: " + traceback.format_exc(limit=3), types.MessageType.Error)


SERVER = SchemalintServer()


@SERVER.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: SchemalintServer, params: types.DidOpenTextDocumentParams) -> None:
    await ls.relint(params.text_document.uri)


@SERVER.feature(types.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: SchemalintServer, params: types.DidChangeTextDocumentParams) -> None:
    if params.text_document.uri.endswith(".py"):
        return  # a Python migration is rendered from disk: judged again when saved
    await ls.relint(params.text_document.uri, DEBOUNCE_SECONDS)


@SERVER.feature(types.TEXT_DOCUMENT_DID_SAVE)
async def did_save(ls: SchemalintServer, params: types.DidSaveTextDocumentParams) -> None:
    await ls.relint(params.text_document.uri)
    # a saved migration is history for the later ones that are open: check them again
    saved = Path(to_fs_path(params.text_document.uri) or "")
    for uri in list(ls.linted):
        other = Path(to_fs_path(uri) or "")
        if uri != params.text_document.uri and history_folder(other) == history_folder(saved):
            await ls.relint(uri, DEBOUNCE_SECONDS)


@SERVER.feature(types.INITIALIZED)
async def initialized(ls: SchemalintServer, params: types.InitializedParams) -> None:
    """Ask the editor to report changes to migrations and config files on disk (history the open files build
    on), when it can register watchers."""
    workspace = ls.client_capabilities.workspace
    watched = workspace.did_change_watched_files if workspace is not None else None
    if watched is None or not watched.dynamic_registration:
        return
    watchers = [types.FileSystemWatcher(glob_pattern=glob)
                for glob in ("**/*.sql", "**/schemalint.toml", "**/pyproject.toml")]
    try:
        await ls.client_register_capability_async(types.RegistrationParams(registrations=[types.Registration(
            id="schemalint-watch", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers))]))
    except Exception as exc:
        ls.log(f"cannot watch files ({exc}): open files are checked again when they change or are saved")


@SERVER.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
async def watched_files_changed(ls: SchemalintServer, params: types.DidChangeWatchedFilesParams) -> None:
    """A migration (or a config) changed on disk: check again the open files whose history or config it is."""
    changed = [Path(to_fs_path(c.uri) or "") for c in params.changes]
    config_changed = any(p.name in ("schemalint.toml", "pyproject.toml") for p in changed)
    folders = {history_folder(p) for p in changed}
    for uri in list(ls.linted):
        path = Path(to_fs_path(uri) or "")
        if config_changed or history_folder(path) in folders:
            await ls.relint(uri, DEBOUNCE_SECONDS)


@SERVER.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: SchemalintServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.linted.pop(params.text_document.uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri,
                                                                        diagnostics=[]))


def _statement_start(text: str, offset: int) -> int:
    """Where the statement holding ``offset`` starts (a suppression goes on the line above it)."""
    from schemalint.sql.parse import parse

    for stmt in parse(text).statements:
        if stmt.start <= offset < max(stmt.end, stmt.start + 1):
            return stmt.start
    return offset


def _overlaps(a: types.Range, b: types.Range) -> bool:
    return (a.start.line, a.start.character) <= (b.end.line, b.end.character) and \
        (b.start.line, b.start.character) <= (a.end.line, a.end.character)


@SERVER.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
    code_action_kinds=[types.CodeActionKind.QuickFix]))
def code_actions(ls: SchemalintServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    linted = ls.linted.get(uri)
    if linted is None:
        return []
    try:
        return _actions(ls, uri, linted, params.range)
    except Exception:
        ls.log("internal error: " + traceback.format_exc(limit=3), types.MessageType.Error)
        return []


def _actions(ls: SchemalintServer, uri: str, linted: Linted, wanted: types.Range) -> list[types.CodeAction]:
    document = ls.workspace.get_text_document(uri)
    lines = document.lines
    source = SourceText(linted.text)
    actions: list[types.CodeAction] = []
    for f in linted.findings:
        where = diagnostic(document, f, lines)
        if not _overlaps(where.range, wanted):
            continue

        def edit(start: int, end: int, new_text: str) -> types.WorkspaceEdit:
            return types.WorkspaceEdit(changes={uri: [types.TextEdit(
                range=types.Range(_position(source, document, lines, start), _position(source, document, lines, end)),
                new_text=new_text)]})

        if f.fix is not None:
            title = f"Fix {f.code}: {f.name}" + ("" if f.fix.safe else " (unsafe: changes transactions or when a "
                                                                        "constraint is checked)")
            actions.append(types.CodeAction(title=title, kind=types.CodeActionKind.QuickFix,
                                            diagnostics=[where], is_preferred=f.fix.safe,
                                            edit=edit(f.fix.start, f.fix.end, f.fix.replacement)))
        offset = source.line_starts[f.span.line - 1] + f.span.column - 1
        start = _statement_start(linted.text, offset)
        line_start = source.line_starts[source.position(start)[0] - 1]
        before = linted.text[line_start:start]
        indent = before[: len(before) - len(before.lstrip(" \t"))]
        actions.append(types.CodeAction(
            title=f"Ignore {f.code} for this statement", kind=types.CodeActionKind.QuickFix, diagnostics=[where],
            edit=edit(line_start, line_start, f"{indent}-- schemalint: ignore {f.code}\n")))
        actions.append(types.CodeAction(
            title=f"Ignore {f.code} in this file", kind=types.CodeActionKind.QuickFix, diagnostics=[where],
            edit=edit(0, 0, f"-- schemalint: ignore-file {f.code}\n")))
    return actions


@SERVER.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: SchemalintServer, params: types.HoverParams) -> types.Hover | None:
    linted = ls.linted.get(params.text_document.uri)
    if linted is None:
        return None
    try:
        from schemalint.docs import page_text
        from schemalint.rules import all_rules

        document = ls.workspace.get_text_document(params.text_document.uri)
        lines = document.lines
        at = types.Range(params.position, params.position)
        pages = []
        for f in linted.findings:
            where = diagnostic(document, f, lines)
            if _overlaps(where.range, at):
                page = page_text(all_rules()[f.code]) or f"{f.code} {f.name}"
                if page not in pages:
                    pages.append(page)
        if not pages:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                                        value="\n\n---\n\n".join(pages)))
    except Exception:
        ls.log("internal error: " + traceback.format_exc(limit=3), types.MessageType.Error)
        return None


def serve() -> None:
    from schemalint.lsp_transport import serve_io

    serve_io(SERVER)


__all__ = ["SERVER", "lint_text", "serve"]
