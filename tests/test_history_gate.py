"""SL013 out-of-order-migration and SL014 applied-migration-edited on a real git repository with two commits:
the base (what is merged) and the branch's changes on top."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

BASE = {
    "migrations/20240101000000_accounts.sql": (
        "-- the accounts table\nCREATE TABLE accounts (id int PRIMARY KEY);\n"
        "-- migrate:down\nDROP TABLE accounts;\n"),
    "migrations/20240301000000_orders.sql": "CREATE TABLE orders (id int PRIMARY KEY);\n",
    "migrations/20240401000000_items.sql": "CREATE TABLE items (id int PRIMARY KEY);\n",
    "migrations/20240501000000_notes/up.sql": "CREATE TABLE notes (id int PRIMARY KEY);\n",
    "migrations/20240501000000_notes/down.sql": "DROP TABLE notes;\n",
}


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(root), "PATH": "/usr/bin:/bin"})


def repository(tmp_path: Path, base: dict[str, str], branch: dict[str, str | None],
               moves: tuple[tuple[str, str], ...] = ()) -> Path:
    """A repository whose first commit is ``base`` and second the branch's changes (None deletes a file)."""
    git(tmp_path, "init", "-q", "-b", "main")
    for name, text in base.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "schemalint.toml").write_text('select = ["SL013", "SL014"]\n', encoding="utf-8")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "base")
    for old, new in moves:
        git(tmp_path, "mv", old, new)
    for name, changed in branch.items():
        path = tmp_path / name
        if changed is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(changed, encoding="utf-8")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "branch")
    return tmp_path


def check(root: Path, *args: str) -> tuple[list[tuple[str, str, int]], dict[str, Any]]:
    proc = subprocess.run([sys.executable, "-m", "schemalint", "check", "--format", "json", "--no-cache", *args,
                           "migrations"], cwd=root, capture_output=True, text=True, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    payload = json.loads(proc.stdout)
    return [(f["file"], f["code"], f["line"]) for f in payload["findings"]], payload


def test_added_migration_that_sorts_before_a_merged_one(tmp_path: Path) -> None:
    root = repository(tmp_path, BASE, {
        "migrations/20240201000000_invoices.sql": "CREATE TABLE invoices (id int PRIMARY KEY);\n",
        "migrations/20240601000000_later.sql": "CREATE TABLE later (id int PRIMARY KEY);\n",
    })
    got, payload = check(root, "--since", "HEAD~1")
    assert got == [("migrations/20240201000000_invoices.sql", "SL013", 1)]
    message = payload["findings"][0]["message"]
    # the newest merged forward file it precedes (the notes folder's up.sql sorts last)
    assert "sorts before migrations/20240501000000_notes/up.sql" in message and "HEAD~1" in message
    assert check(root)[0] == []  # without --since git is not asked: silent


def test_edited_forward_sql_is_reported_at_the_first_difference(tmp_path: Path) -> None:
    root = repository(tmp_path, BASE, {
        "migrations/20240301000000_orders.sql": "CREATE TABLE orders (\n    id bigint PRIMARY KEY\n);\n",
    })
    got, payload = check(root, "--since", "HEAD~1")
    assert got == [("migrations/20240301000000_orders.sql", "SL014", 2)]
    assert "already exists at HEAD~1" in payload["findings"][0]["message"]


def test_comment_whitespace_case_and_rollback_edits_are_not_reported(tmp_path: Path) -> None:
    root = repository(tmp_path, BASE, {
        "migrations/20240101000000_accounts.sql": (
            "-- accounts: one row per customer\ncreate   table ACCOUNTS (\n  id int primary key /* the key */\n);\n"
            "-- migrate:down\nDROP TABLE IF EXISTS accounts CASCADE;\n"),
        "migrations/20240501000000_notes/down.sql": "DROP TABLE IF EXISTS notes;\n",
    })
    got, _ = check(root, "--since", "HEAD~1")
    assert got == []


def test_quoted_names_and_literals_still_count(tmp_path: Path) -> None:
    root = repository(tmp_path, BASE, {
        "migrations/20240401000000_items.sql": 'CREATE TABLE "Items" (id int PRIMARY KEY);\n',
    })
    assert check(root, "--since", "HEAD~1")[0] == [("migrations/20240401000000_items.sql", "SL014", 1)]


def test_a_rename_is_an_edit_of_the_old_file_and_an_added_file(tmp_path: Path) -> None:
    root = repository(tmp_path, BASE, {}, moves=(
        ("migrations/20240401000000_items.sql", "migrations/20240201000000_items.sql"),))
    got, payload = check(root, "--since", "HEAD~1")
    assert sorted(got) == [("migrations/20240201000000_items.sql", "SL013", 1),
                           ("migrations/20240201000000_items.sql", "SL014", 1)]
    edited = next(f for f in payload["findings"] if f["code"] == "SL014")
    assert "migrations/20240401000000_items.sql renamed" in edited["message"]


def test_flyway_repeatable_migrations_may_change(tmp_path: Path) -> None:
    base = {"sql/V1__init.sql": "CREATE TABLE a (id int);\n", "sql/R__views.sql": "CREATE VIEW v AS SELECT 1;\n",
            "sql/V3__more.sql": "CREATE TABLE c (id int);\n"}
    root = repository(tmp_path, base, {"sql/R__views.sql": "CREATE OR REPLACE VIEW v AS SELECT 2;\n",
                                       "sql/V2__between.sql": "CREATE TABLE b (id int);\n"})
    proc = subprocess.run([sys.executable, "-m", "schemalint", "check", "--format", "json", "--no-cache",
                           "--since", "HEAD~1", "sql"], cwd=root, capture_output=True, text=True, check=False)
    got = [(f["file"], f["code"]) for f in json.loads(proc.stdout)["findings"]]
    assert got == [("sql/V2__between.sql", "SL013")]


def test_cached_results_follow_the_ref(tmp_path: Path) -> None:
    root = repository(tmp_path, BASE, {
        "migrations/20240301000000_orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n"})
    args = [sys.executable, "-m", "schemalint", "check", "--format", "json", "migrations"]
    first = subprocess.run([*args, "--since", "HEAD~1"], cwd=root, capture_output=True, text=True, check=False)
    again = subprocess.run([*args, "--since", "HEAD"], cwd=root, capture_output=True, text=True, check=False)
    assert [f["code"] for f in json.loads(first.stdout)["findings"]] == ["SL014"]
    assert json.loads(again.stdout)["findings"] == []
