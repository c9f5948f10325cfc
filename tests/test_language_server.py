"""`schemalint server` driven over stdio by a real LSP client (pytest-lsp): diagnostics with the project's
config and the folder's history, exact ranges in UTF-16, code actions, hover, and no crash on bad input."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

PROJECT: dict[str, str] = {
    "schemalint.toml": 'ignore = ["SL01", "SL3", "SL4"]\n[locks]\nrunner-sets-lock-timeout = true\n',
    "migrations/20240101_000000_create.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY, name varchar(50));\n",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lsp")
    for name, text in PROJECT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=[sys.executable, "-m", "schemalint",
                                                                              "server"]))
async def client(lsp_client: LanguageClient, project: Path) -> Any:
    registered: list[types.RegistrationParams] = []

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:  # the editor side of dynamic registration
        registered.append(params)

    lsp_client.registered = registered  # type: ignore[attr-defined]
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="project")]))
    yield
    await lsp_client.shutdown_session()


async def _open(client: LanguageClient, path: Path, text: str, version: int = 1) -> list[types.Diagnostic]:
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri, language_id="sql", version=version, text=text)))
    return await _diagnostics(client, uri, version)


async def _diagnostics(client: LanguageClient, uri: str, version: int) -> list[types.Diagnostic]:
    """The diagnostics the server publishes for this version of the document."""
    for _ in range(100):
        params = await asyncio.wait_for(client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 60)
        if params.uri == uri and params.version == version:
            return list(params.diagnostics)
    raise AssertionError("no diagnostics published")


@pytest.mark.asyncio(loop_scope="module")
async def test_diagnostics_use_config_history_and_exact_ranges(client: LanguageClient, project: Path) -> None:
    path = project / "migrations" / "20240201_000000_change.sql"
    text = ("-- widen the name (safe: varchar(50) in the history)\n"
            "ALTER TABLE accounts ALTER COLUMN name TYPE varchar(100);\n"
            "/* ünïcödé 🦆 */ CREATE INDEX idx_accounts_name ON accounts (name);\n")
    found = await _open(client, path, text)
    assert [d.code for d in found] == ["SL102"]  # no SL204: the history says varchar(50); SL01x ignored by config
    (sl102,) = found
    assert sl102.severity == types.DiagnosticSeverity.Error and sl102.source == "schemalint"
    assert sl102.code_description is not None and "SL102-create-index-non-concurrently.md" in sl102.code_description.href
    # the duck is two UTF-16 code units: the statement starts at character 17 of line 2
    assert sl102.range.start == types.Position(line=2, character=17)
    # …and ends after "(name)" (the statement, without its semicolon), again counted in UTF-16
    assert sl102.range.end == types.Position(line=2, character=len("/* ünïcödé 🦆 */ CREATE INDEX idx_accounts_name "
                                                                  "ON accounts (name)") + 1)


@pytest.mark.asyncio(loop_scope="module")
async def test_change_is_linted_again_and_code_actions_fix_or_ignore(client: LanguageClient, project: Path) -> None:
    path = project / "migrations" / "20240301_000000_index.sql"
    uri = path.as_uri()
    assert await _open(client, path, "SELECT 1;\n") == []
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(
            text="  CREATE INDEX idx_accounts_id ON accounts (id);\n")]))
    (found,) = await _diagnostics(client, uri, 2)
    assert found.code == "SL102"
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=found.range,
        context=types.CodeActionContext(diagnostics=[found])))
    assert actions is not None
    titles = [a.title for a in actions if isinstance(a, types.CodeAction)]
    assert titles == ["Fix SL102: create-index-non-concurrently", "Ignore SL102 for this statement",
                      "Ignore SL102 in this file"]
    by_title = {a.title: a for a in actions if isinstance(a, types.CodeAction)}
    fix = by_title["Fix SL102: create-index-non-concurrently"].edit
    assert fix is not None and fix.changes is not None
    (edit,) = fix.changes[uri]
    assert edit.new_text == " CONCURRENTLY" and edit.range.start == types.Position(line=0, character=14)
    ignore = by_title["Ignore SL102 for this statement"].edit
    assert ignore is not None and ignore.changes is not None
    assert ignore.changes[uri][0].new_text == "  -- schemalint: ignore SL102\n"
    assert ignore.changes[uri][0].range.start == types.Position(line=0, character=0)
    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=5)))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.value.startswith("# SL102 create-index-non-concurrently")


@pytest.mark.asyncio(loop_scope="module")
async def test_bad_input_never_stops_the_server(client: LanguageClient, project: Path) -> None:
    broken = project / "migrations" / "20240401_000000_broken.sql"
    found = await _open(client, broken, "CREATE TABLE broken (id int,);\nCREATE INDEX idx_a ON accounts (id);\n")
    assert [d.code for d in found] == ["SL001", "SL102"]  # the rest of the file is still checked
    binary = await _open(client, project / "migrations" / "20240402_000000_nul.sql", "SELECT 1;\x00\n")
    assert [d.code for d in binary] == ["SL002"]
    elsewhere = project / "bad_config"
    elsewhere.mkdir()
    (elsewhere / "schemalint.toml").write_text("select = [\n")
    bad = await _open(client, elsewhere / "x.sql", "SELECT 1;\n")
    assert bad and "could not check this file" in bad[0].message and "schemalint.toml" in bad[0].message
    # still answering
    again = await _open(client, project / "migrations" / "20240501_000000_ok.sql", "SELECT 2;\n")
    assert again == []
    await asyncio.sleep(0)


@pytest.mark.asyncio(loop_scope="module")
async def test_a_history_file_changed_on_disk_is_taken_in(client: LanguageClient, project: Path) -> None:
    path = project / "migrations" / "20240601_000000_retype.sql"
    text = "ALTER TABLE accounts ALTER COLUMN name TYPE varchar(60);\n"
    assert await _open(client, path, text) == []  # varchar(50) → varchar(60): no rewrite
    registrations = [r for params in client.registered for r in params.registrations]  # type: ignore[attr-defined]
    assert [r.method for r in registrations] == [types.WORKSPACE_DID_CHANGE_WATCHED_FILES]
    history = project / "migrations" / "20240101_000000_create.sql"
    history.write_text("CREATE TABLE accounts (id bigint PRIMARY KEY, name varchar(50), score int);\n"
                       "ALTER TABLE accounts ALTER COLUMN name TYPE varchar(80);\n", encoding="utf-8")
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[types.FileEvent(
        uri=history.as_uri(), type=types.FileChangeType.Changed)]))
    # the client keeps the latest diagnostics per document: poll them (a notification may arrive before a
    # wait for it starts)
    for _ in range(1200):
        if [d.code for d in client.diagnostics.get(path.as_uri(), [])] == ["SL204"]:
            break
        await asyncio.sleep(0.05)
    assert [d.code for d in client.diagnostics[path.as_uri()]] == ["SL204"]  # narrowing from varchar(80)


@pytest.mark.asyncio(loop_scope="module")
async def test_a_django_migration_is_judged_as_check_judges_it_and_other_python_is_left_alone(
        client: LanguageClient, project: Path) -> None:
    pytest.importorskip("django")
    import shutil

    from tests.conftest import REPO

    site = project / "django_site"
    shutil.copytree(REPO / "fixtures" / "frameworks" / "django_shop", site)
    migration = site / "shop" / "migrations" / "0007_remove_order_account.py"
    uri = migration.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri, language_id="python", version=1, text=migration.read_text())))
    found = await _diagnostics(client, uri, 1)
    assert {d.code for d in found} >= {"SL201"}  # the foreign key's column dropped, at the RemoveField
    operation = migration.read_text().splitlines().index(next(
        line for line in migration.read_text().splitlines() if "RemoveField" in line))
    assert {d.range.start.line for d in found if d.code == "SL201"} == {operation}
    # the settings module is Python too, and no migration: nothing said about it (never parsed as SQL)
    settings_py = next(site.glob("*/settings.py"))
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=settings_py.as_uri(), language_id="python", version=1, text=settings_py.read_text())))
    assert await _diagnostics(client, settings_py.as_uri(), 1) == []
