"""Django migrations as a source (sources/frameworks.py, frameworks/django_extract.py), on the fixture project
fixtures/frameworks/django_shop: rendered with the project's own backend and no database, judged like SQL files in
Django's order, reported at the .py file and the operation's line."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.conftest import check_folder as check

pytest.importorskip("django")

SHOP = REPO / "fixtures" / "frameworks" / "django_shop"
HOUSE = {"SL010", "SL011", "SL012", "SL402", "SL405"}


def operation_lines(path: Path) -> list[int]:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "operations" for t in node.targets):
            assert isinstance(node.value, ast.List)
            return [element.lineno for element in node.value.elts]
    return []


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    target = tmp_path / "django_shop"
    shutil.copytree(SHOP, target)
    return target


def found(payload: dict[str, Any]) -> list[tuple[str, int, str]]:
    return [(f["file"].rsplit("/", 1)[-1], f["line"], f["code"]) for f in payload["findings"]]


def test_every_finding_is_at_the_operation_that_emitted_it(shop: Path) -> None:
    code, payload, stderr = check(shop)
    assert code == 1, stderr
    assert payload["summary"]["runner"].startswith("django (source: django ")
    assert "detected from manage.py" in payload["summary"]["runner"]
    for finding in payload["findings"]:
        path = shop / finding["file"]
        assert path.suffix == ".py" and path.is_file(), finding["file"]
        assert finding["line"] in operation_lines(path), finding
        assert finding["origin"] and finding["sql"] and finding["fix"] is None
    got = {(file, code) for file, _line, code in found(payload)}
    # AddIndex: a plain build; unique=True then removed: the constraint's name came from schemalint's model;
    # RemoveField of a foreign key; RunSQL judged as SQL
    assert {("0003_account_name_idx.py", "SL102"), ("0005_account_email_unique.py", "SL109"),
            ("0006_account_email_not_unique.py", "SL213"), ("0007_remove_order_account.py", "SL201"),
            ("0008_backfill.py", "SL116")} <= got
    # the varchar widening is known from the history: no SL204; AddIndexConcurrently with atomic = False is clean
    assert not [g for g in got if g[1] == "SL204"]
    assert not [g for g in got if g[0] == "0009_order_placed_at.py" and g[1] in ("SL102", "SL104")]
    drop = next(f for f in payload["findings"] if f["code"] == "SL213")
    assert '"shop_account_email_648c3f12_uniq"' in drop["sql"]
    # RunPython: said once, with its line
    assert any("0008_backfill.py:14" in note and "not checked" in note for note in payload["summary"]["notes"])


def test_findings_match_the_same_sql_as_files(shop: Path, tmp_path: Path) -> None:
    """The rendered SQL written as .sql files (atomic migrations in BEGIN … COMMIT, psql applying them) gets the
    same findings, file by file."""
    from schemalint.sources.frameworks import django_sources

    rendered = django_sources(shop, None, "default", None, 15, "public")
    sql_folder = tmp_path / "as_sql"
    sql_folder.mkdir()
    names = {}
    for number, source in enumerate(rendered.files):
        text = (source.data or b"").decode()
        if source.transaction == "wrapped":
            text = f"BEGIN;\n{text}COMMIT;\n"
        name = f"{number:04d}_{Path(source.display).stem}.sql"
        (sql_folder / name).write_text(text)
        names[name] = Path(source.display).name
    (sql_folder / "schemalint.toml").write_text('runner = "psql"\n')
    _, as_sql, _ = check(sql_folder)
    _, as_django, _ = check(shop)
    from_sql = {(names[f["file"].rsplit("/", 1)[-1]], f["code"]) for f in as_sql["findings"] if f["code"] not in HOUSE}
    from_django = {(f["file"].rsplit("/", 1)[-1], f["code"]) for f in as_django["findings"]}
    assert from_sql == from_django


def test_no_database_connection_is_ever_made(shop: Path) -> None:
    # the settings point at a host that does not exist, and the extractor makes every connect raise: rendering
    # succeeds only if nothing connects
    code, _payload, stderr = check(shop)
    assert code == 1 and "no connection is made" not in stderr
    assert "db.invalid" in (shop / "shop_project" / "settings.py").read_text()


def test_a_zero_downtime_backend_is_judged_as_it_renders(shop: Path) -> None:
    _code, payload, _ = check(shop, "--settings", "shop_project.settings_zdt")
    got = {(file, code) for file, _line, code in found(payload)}
    # its AddIndex renders CONCURRENTLY, inside an atomic migration: that fails
    assert ("0003_account_name_idx.py", "SL104") in got and ("0003_account_name_idx.py", "SL102") not in got


def test_suppressions_are_written_in_python(shop: Path) -> None:
    path = shop / "shop" / "migrations" / "0008_backfill.py"
    path.write_text(path.read_text().replace(
        "        migrations.RunSQL(", "        # schemalint: ignore SL116 -- a ten-row table\n        migrations.RunSQL("))
    _, payload, _ = check(shop)
    assert ("0008_backfill.py", "SL116") not in {(f, c) for f, _l, c in found(payload)}


def test_fix_never_touches_python_migrations(shop: Path) -> None:
    before = {p: p.read_bytes() for p in (shop / "shop" / "migrations").glob("*.py")}
    subprocess.run([sys.executable, "-m", "schemalint", "check", "--fix", "--unsafe-fixes", "."], cwd=shop,
                   capture_output=True, check=False, timeout=300)
    assert {p: p.read_bytes() for p in before} == before


@pytest.mark.slow
def test_two_hundred_migrations_in_under_five_seconds(shop: Path) -> None:
    migrations = shop / "shop" / "migrations"
    previous = "0009_order_placed_at"
    for number in range(10, 210):
        name = f"{number:04d}_field_{number}"
        (migrations / f"{name}.py").write_text(
            "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n"
            f"    dependencies = [(\"shop\", \"{previous}\")]\n\n    operations = [\n"
            f"        migrations.AddField(model_name=\"order\", name=\"f{number}\", field=models.IntegerField(null=True)),\n"
            "    ]\n")
        previous = name
    started = time.perf_counter()
    _code, payload, stderr = check(shop)
    elapsed = time.perf_counter() - started
    assert payload["summary"]["files"] == 209, stderr
    assert elapsed < 5.0, elapsed


def test_the_manage_py_command(shop: Path) -> None:
    settings = shop / "shop_project" / "settings.py"
    settings.write_text(settings.read_text().replace('INSTALLED_APPS = ["shop"]',
                                                     'INSTALLED_APPS = ["shop", "schemalint.django"]'))
    proc = subprocess.run([sys.executable, "manage.py", "schemalint", "--", "--format", "concise", "--no-cache"],
                          cwd=shop, capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "shop/migrations/0003_account_name_idx.py:8:9: SL102" in proc.stdout


def test_since_judges_only_the_changed_migrations(shop: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=shop, check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base")
    path = shop / "shop" / "migrations" / "0008_backfill.py"
    path.write_text(path.read_text().replace("SET total = 0", "SET total = 1"))
    _, payload, stderr = check(shop, "--since", "HEAD")
    assert {f["file"].rsplit("/", 1)[-1] for f in payload["findings"]} == {"0008_backfill.py"}, stderr
    assert not [f for f in payload["findings"] if f["code"] == "SL014"]  # .py text is not SQL to compare


@pytest.mark.slow
def test_django_4_2_lts_renders_the_same(shop: Path, tmp_path: Path) -> None:
    venv = tmp_path / "django42"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "django>=4.2,<4.3", "psycopg[binary]"],
                             capture_output=True, text=True, check=False, timeout=600)
    if install.returncode != 0:
        pytest.skip(f"Django 4.2 could not be installed here: {install.stderr.strip()[-200:]}")
    _, with_42, _ = check(shop, "--python", str(venv / "bin" / "python"))
    _, with_current, _ = check(shop)
    assert "django 4.2." in with_42["summary"]["runner"]
    assert found(with_42) == found(with_current)


def test_a_project_that_prints_a_lot_does_not_stall_the_rendering(shop: Path) -> None:
    settings = shop / "shop_project" / "settings.py"
    settings.write_text(settings.read_text() + '\nimport sys\nsys.stderr.write("x" * 500_000)\nprint("y" * 300_000)\n')
    code, payload, stderr = check(shop)
    assert code == 1 and any(f["code"] == "SL102" for f in payload["findings"]), stderr


def _judged_files(payload: dict[str, Any]) -> set[str]:
    return {f["file"].rsplit("/", 1)[-1] for f in payload["findings"]}


def test_apps_migrations_and_files_named_on_the_command_line_are_judged_the_rest_is_history(shop: Path) -> None:
    _, everything, _ = check(shop)
    by_file = {name: [f for f in found(everything) if f[0] == name] for name in _judged_files(everything)}
    # a migration name, a unique prefix of one, a .py file, and the app (its folder name is its label)
    for args, expected in ((["shop.0005_account_email_unique"], {"0005_account_email_unique.py"}),
                           (["shop.0007"], {"0007_remove_order_account.py"}),
                           (["shop/migrations/0002_account_region.py"], {"0002_account_region.py"}),
                           (["shop.0002", "shop.0007"], {"0002_account_region.py", "0007_remove_order_account.py"})):
        code, payload, stderr = check(shop, "--django", *args)
        assert code in (0, 1) and payload["summary"]["files"] == len(expected), (args, stderr)
        assert _judged_files(payload) == expected, args
        for name in expected:  # judged after the whole history, exactly as in the full run
            assert [f for f in found(payload) if f[0] == name] == by_file[name]
    code, payload, _ = check(shop, "--django", "shop")
    assert found(payload) == found(everything)
    # the RunPython note is about 0008: not said when only 0002 is judged
    _, payload, _ = check(shop, "--django", "shop.0002")
    assert not any("RunPython" in note for note in payload["summary"].get("notes", []))


@pytest.mark.parametrize(("selector", "error"), [
    ("shop.0099", "shop.0099: no such migration (apps: shop)"),
    ("billing", "billing: no such migration (apps: shop)"),
    ("shop.000", "shop.000: more than one migration starts with '000' in shop"),
    ("no/such/file.py", "no/such/file.py: not the project's folder, a migration file or an app label"),
])
def test_a_selection_that_names_no_migration_is_one_clear_error(shop: Path, selector: str, error: str) -> None:
    code, payload, stderr = check(shop, "--django", selector)
    assert code == 2 and not payload
    assert stderr.strip().startswith(f"schemalint: error: {error}"), stderr


def test_init_in_a_django_project_names_the_source_the_interpreter_and_the_python_hook(shop: Path) -> None:
    (shop / "schemalint.toml").unlink()
    (shop / ".venv" / "bin").mkdir(parents=True)
    os.symlink(sys.executable, shop / ".venv" / "bin" / "python")  # the project's interpreter, which has Django
    proc = subprocess.run([sys.executable, "-m", "schemalint", "init"], cwd=shop, capture_output=True, text=True,
                          check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    config = (shop / "schemalint.toml").read_text()
    assert 'source = "django"  # detected from manage.py' in config and 'python = ".venv/bin/python"' in config
    assert "- id: schemalint-python" in proc.stdout and "\nhistory-paths" not in config
    code, payload, stderr = check(shop)  # the written config works as it is
    assert code == 1 and payload["summary"]["runner"].startswith("django (source: django"), stderr


def test_separate_database_and_state_is_judged_by_its_database_operations(shop: Path) -> None:
    (shop / "shop" / "migrations" / "0010_total_index.py").write_text(
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = [(\"shop\", \"0009_order_placed_at\")]\n\n"
        "    operations = [\n"
        "        migrations.SeparateDatabaseAndState(\n"
        "            database_operations=[migrations.RunSQL(\n"
        "                \"CREATE INDEX shop_order_total_idx ON shop_order (total)\",\n"
        "                reverse_sql=\"DROP INDEX shop_order_total_idx\")],\n"
        "            state_operations=[migrations.AddIndex(\n"
        "                model_name=\"order\", index=models.Index(fields=[\"total\"], name=\"shop_order_total_idx\"))],\n"
        "        ),\n"
        "        migrations.SeparateDatabaseAndState(\n"
        "            state_operations=[migrations.AlterField(\n"
        "                model_name=\"order\", name=\"total\", field=models.BigIntegerField(default=0))],\n"
        "        ),\n"
        "    ]\n")
    code, payload, stderr = check(shop, "--django", "shop.0010")
    assert code == 1, stderr
    # the database operation's index, at the operation; the state-only change renders no SQL and is not judged
    assert [(f[1], f[2]) for f in found(payload) if f[2] in ("SL102", "SL204")] == [(8, "SL102")]
    (index,) = [f for f in payload["findings"] if f["code"] == "SL102"]
    assert "CREATE INDEX shop_order_total_idx" in index["sql"]
