"""Alembic revisions as a source, on fixtures/frameworks/alembic_billing: rendered offline one revision at a time,
autocommit_block() honoured, findings at the revision's op. call."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.conftest import check_folder as check

pytest.importorskip("alembic")

BILLING = REPO / "fixtures" / "frameworks" / "alembic_billing"


@pytest.fixture
def billing(tmp_path: Path) -> Path:
    target = tmp_path / "alembic_billing"
    shutil.copytree(BILLING, target)
    return target


def found(payload: dict[str, Any]) -> set[tuple[str, int, str]]:
    return {(f["file"].rsplit("/", 1)[-1], f["line"], f["code"]) for f in payload["findings"]}


def test_findings_are_at_the_op_calls(billing: Path) -> None:
    code, payload, stderr = check(billing)
    assert code == 1, stderr
    assert payload["summary"]["runner"].startswith("alembic (source: alembic ")
    assert "detected from alembic.ini" in payload["summary"]["runner"]
    got = found(payload)
    assert {("0002_status.py", 10, "SL101"), ("0002_status.py", 11, "SL102"), ("0004_cleanup.py", 9, "SL208"),
            ("0004_cleanup.py", 10, "SL201")} <= got
    # the widening is known from the history; the concurrent build runs in autocommit_block(): no finding
    assert not [g for g in got if g[0] == "0003_concurrent.py" and g[2] in ("SL104", "SL102", "SL204")]
    for finding in payload["findings"]:
        assert finding["file"].endswith(".py") and finding["origin"].startswith("op.") and finding["fix"] is None
    index = next(f for f in payload["findings"] if f["code"] == "SL102")
    assert "op.create_index(..., postgresql_concurrently=True)" in index["help"]
    assert not any("one transaction" in note for note in payload["summary"].get("notes", []))


def test_one_transaction_for_every_revision_is_said(billing: Path) -> None:
    env = billing / "migrations" / "env.py"
    env.write_text(env.read_text().replace("transaction_per_migration=True", "transaction_per_migration=False"))
    _, payload, _ = check(billing)
    assert any("every pending revision in one transaction" in note for note in payload["summary"]["notes"])


def test_a_revision_that_needs_a_database_is_a_note(billing: Path) -> None:
    (billing / "migrations" / "versions" / "0005_data.py").write_text(
        '"""data"""\nfrom alembic import op\n\nrevision = "0005"\ndown_revision = "0004"\n\n\n'
        "def upgrade() -> None:\n    op.get_bind().execute(None)\n\n\ndef downgrade() -> None:\n    pass\n")
    code, payload, stderr = check(billing)
    assert code == 1, stderr
    assert any("revision 0005 cannot be rendered without a database" in n for n in payload["summary"]["notes"])


def test_suppressions_are_python_comments(billing: Path) -> None:
    path = billing / "migrations" / "versions" / "0004_cleanup.py"
    path.write_text(path.read_text().replace('    op.execute("DELETE', '    # schemalint: ignore SL208\n    op.execute("DELETE'))
    _, payload, _ = check(billing)
    assert not [g for g in found(payload) if g[2] == "SL208"]


@pytest.mark.parametrize("framework", ["alembic", "django"])
def test_an_interpreter_without_the_framework_is_one_clear_error(tmp_path: Path, framework: str) -> None:
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    project = tmp_path / "project"
    project.mkdir()
    (project / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    (project / "manage.py").write_text("import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site.settings')\n")
    code, _, stderr = check(project, f"--{framework}", "--python", str(bare / "bin" / "python"))
    assert code == 2
    assert stderr.strip().splitlines() == [
        f"schemalint: error: {framework}: {bare / 'bin' / 'python'} has no {framework} installed: pass the project's "
        f"interpreter with --python, or pip install 'schemalint[{framework}]' beside schemalint"]


def test_the_config_file_is_named_as_alembic_takes_it(billing: Path) -> None:
    (billing / "alembic.ini").rename(billing / "billing.ini")
    code, payload, stderr = check(billing, "--alembic", "-c", "billing.ini")
    assert code == 1 and ("0004_cleanup.py", 10, "SL201") in found(payload), stderr
    code, payload, stderr = check(billing, "--alembic", "-c", "missing.ini")
    assert code == 2 and stderr.strip() == "schemalint: error: alembic: missing.ini: no such config file"
