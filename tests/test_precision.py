"""Precision on real projects: what the history knows after a syntax error, one finding per statement and
rule, messages that name the real lock on every relation, and the known false alarms that are fixed."""

from __future__ import annotations

from tests.conftest import codes, lint, lint_files


def test_a_table_whose_create_fails_to_parse_is_still_new_in_its_file() -> None:
    sql = ("CREATE TABLE notes (id int, body text,);\n"
           "CREATE INDEX idx_notes_body ON notes (body);\n"
           "ALTER TABLE notes ADD CONSTRAINT chk_body CHECK (length(body) > 0);\n"
           "ALTER TABLE notes ADD COLUMN region text NOT NULL;\n")
    assert codes(lint(sql)) == ["SL001"]


def test_index_and_view_heads_are_recovered_too() -> None:
    from schemalint.config import Settings
    from schemalint.engine import Engine, prepare
    from schemalint.sources.files import SourceFile

    sql = ("CREATE TABLE notes (id int);\n"
           "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_notes_id ON ONLY public.notes (id,);\n"
           "CREATE VIEW note_ids AS SELECT id FROM notes WHERE;\n")
    engine = Engine(Settings(), {"SL001"})
    engine.run([prepare(SourceFile("1.sql", None, data=sql.encode()))])
    assert engine.model.index_table(("public", "idx_notes_id")) == ("public", "notes")
    assert ("view", ("public", "note_ids")) in engine.model.objects_created
    # so a later DROP INDEX knows the table it locks
    result = lint_files({"1.sql": sql, "2.sql": "DROP INDEX idx_notes_id;\n"}, {"select": ["SL114"]},
                        quiet_timeouts=False)
    (finding,) = [f for f in result.findings if f.file == "2.sql"]
    assert finding.code == "SL114" and "ACCESS EXCLUSIVE lock on notes" in finding.message


def test_a_new_table_stays_new_when_a_later_statement_fails() -> None:
    sql = ("CREATE TABLE notes (id int, body text);\n"
           "CREATE INDEX idx_broken ON notes (body,);\n"
           "CREATE INDEX idx_notes_body ON notes (body);\n")
    assert codes(lint(sql)) == ["SL001"]


HISTORY = ("CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL, region text);\n"
           "CREATE TABLE notes (id int PRIMARY KEY, account_id int,\n"
           "  CONSTRAINT fk_notes_account FOREIGN KEY (account_id) REFERENCES accounts (id));\n")


def _later(sql: str, **settings: object) -> list[tuple[str, str]]:
    result = lint_files({"1.sql": HISTORY, "2.sql": sql}, dict(settings), quiet_timeouts="SL114" not in str(settings))
    return [(f.code, f.message) for f in result.findings if f.file == "2.sql"]


def test_set_not_null_on_a_column_already_not_null_is_not_flagged() -> None:
    assert _later("ALTER TABLE accounts ALTER COLUMN name SET NOT NULL;") == []
    assert [c for c, _ in _later("ALTER TABLE accounts ALTER COLUMN region SET NOT NULL;")] == ["SL108"]


def test_foreign_key_type_is_read_after_the_same_statements_type_change() -> None:
    fixed = "ALTER TABLE notes ALTER COLUMN account_id TYPE bigint, ADD CONSTRAINT fk_b FOREIGN KEY (account_id) " \
            "REFERENCES accounts (id) NOT VALID;"
    assert [c for c, _ in _later(fixed, select=["SL410"])] == []
    mismatch = "ALTER TABLE notes ADD CONSTRAINT fk_b FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;"
    assert [c for c, _ in _later(mismatch, select=["SL410"])] == ["SL410"]


def test_drop_index_of_an_unknown_index_still_needs_a_lock_timeout() -> None:
    ((code, message),) = _later("DROP INDEX idx_from_before_the_history;", select=["SL114"])
    assert code == "SL114" and "ACCESS EXCLUSIVE lock on the table of index idx_from_before_the_history" in message


def test_dropping_a_foreign_key_names_the_referenced_table_too() -> None:
    ((code, message),) = _later("ALTER TABLE notes DROP CONSTRAINT fk_notes_account;", select=["SL114"])
    assert code == "SL114" and "ACCESS EXCLUSIVE lock on notes and accounts" in message


def test_the_lock_named_is_the_strongest_the_statement_takes_on_each_table() -> None:
    ((code, message),) = _later("ALTER TABLE notes ADD COLUMN owner_id bigint DEFAULT 1 REFERENCES accounts (id);",
                                select=["SL105"])
    assert code == "SL105" and "ACCESS EXCLUSIVE lock on notes (blocking every read and write)" in message
    assert "SHARE ROW EXCLUSIVE lock on accounts" in message


def test_boolean_options_are_read_as_postgresql_reads_them() -> None:
    for sql, expected in (("VACUUM (FULL false) accounts;", []), ("VACUUM (FULL 0) accounts;", []),
                          ("VACUUM (FULL off) accounts;", []), ("VACUUM (FULL) accounts;", ["SL117"]),
                          ("VACUUM (FULL on) accounts;", ["SL117"]), ("VACUUM (FULL 1) accounts;", ["SL117"]),
                          ("REINDEX (CONCURRENTLY false) TABLE accounts;", ["SL117"]),
                          ("REINDEX (CONCURRENTLY) TABLE accounts;", []),
                          ("REINDEX (CONCURRENTLY true) TABLE accounts;", [])):
        assert [c for c, _ in _later(sql, select=["SL117"])] == expected, sql


def test_virtual_generated_columns() -> None:
    sql = "ALTER TABLE accounts ADD COLUMN doubled bigint GENERATED ALWAYS AS (id * 2) VIRTUAL;"
    assert _later(sql, select=["SL111", "SL001"], **{"target-postgres": 18}) == []
    ((code, message),) = _later(sql, select=["SL111", "SL001"])  # before 18 a syntax error: SL001, not SL111
    assert code == "SL001" and "needs PostgreSQL 18" in message and "syntax error" in message
    stored = "ALTER TABLE accounts ADD COLUMN doubled bigint GENERATED ALWAYS AS (id * 2) STORED;"
    assert "STORED computes the value" in _later(stored, select=["SL111"], **{"target-postgres": 18})[0][1]


def test_one_finding_per_statement_and_rule() -> None:
    result = lint_files({"1.sql": "CREATE TABLE a (id int, b int, c int);",
                         "2.sql": "ALTER TABLE a DROP COLUMN b, DROP COLUMN c;\nDELETE FROM a;\n"},
                        {"select": ["SL201", "SL116", "SL208"]})
    got = [(f.code, f.span.line) for f in result.findings]
    assert got == [("SL201", 1), ("SL208", 2)]
    assert "a.b, a.c" in result.findings[0].message and "DROP COLUMN b, DROP COLUMN c" in result.findings[0].help


def test_sl114_is_once_per_file_inside_do_blocks_too() -> None:
    body = "\n".join(f"  ALTER TABLE a ADD COLUMN c{i} int;" for i in range(20))
    result = lint_files({"1.sql": "CREATE TABLE a (id int);",
                         "2.sql": f"DO $$\nBEGIN\n{body}\nEND $$;\nALTER TABLE a ADD COLUMN z int;\n"},
                        {"select": ["SL114"]}, quiet_timeouts=False)
    assert [(f.code, f.span.line) for f in result.findings if f.file == "2.sql"] == [("SL114", 3)]


def test_sl115_in_a_do_block_points_at_the_locking_statement_and_never_commits_inside() -> None:
    result = lint_files({"1.sql": "CREATE TABLE a (id int); CREATE TABLE b (id int);",
                         "2.sql": "DO $$\nBEGIN\n  ALTER TABLE a ADD COLUMN c int;\n"
                                  "  UPDATE b SET id = id + 1 WHERE id > 0;\nEND $$;\n"},
                        {"select": ["SL115"]})
    (finding,) = result.findings
    assert finding.span.line == 4 and "taken on a at line 3" in finding.message
    assert "COMMIT" not in finding.help


def test_precision_increases_and_utc_timestamptz_do_not_rewrite() -> None:
    history = ("CREATE TABLE t (a timestamptz(3), b timestamp(2), c interval(2), d interval day, e time(2),\n"
               "  f timestamp, g timestamptz, h timestamp(3), i timestamp);")
    migration = ("ALTER TABLE t ALTER COLUMN a TYPE timestamptz(6);\n"    # 1 no rewrite
                 "ALTER TABLE t ALTER COLUMN b TYPE timestamp;\n"          # 2 no rewrite
                 "ALTER TABLE t ALTER COLUMN c TYPE interval(4);\n"        # 3 no rewrite
                 "ALTER TABLE t ALTER COLUMN d TYPE interval;\n"           # 4 no rewrite
                 "ALTER TABLE t ALTER COLUMN e TYPE time(4);\n"            # 5 no rewrite
                 "ALTER TABLE t ALTER COLUMN g TYPE timestamptz(3);\n"     # 6 rewrite: less precision
                 "ALTER TABLE t ALTER COLUMN f TYPE timestamptz;\n"        # 7 rewrite: time zone not UTC
                 "SET timezone = 'UTC';\n"
                 "ALTER TABLE t ALTER COLUMN i TYPE timestamptz;\n"        # 9 no rewrite (PG12+, UTC)
                 "ALTER TABLE t ALTER COLUMN h TYPE timestamptz(3);\n")    # 10 rewrite
    result = lint_files({"1.sql": history, "2.sql": migration}, {"select": ["SL204"]})
    assert [f.span.line for f in result.findings] == [6, 7, 10]
    old = lint_files({"1.sql": history, "2.sql": migration}, {"select": ["SL204"], "target-postgres": 11})
    assert [f.span.line for f in old.findings] == [6, 7, 9, 10]


def test_engine_specific_sql_files_are_reported_as_not_checked(tmp_path: object) -> None:
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(str(tmp_path))
    (root / "migrations").mkdir()
    (root / "schemalint.toml").write_text('ignore = ["SL01"]\n')
    (root / "migrations" / "1_init.sql").write_text("SELECT 1;\n")
    (root / "migrations" / "2_init.sql.postgres").write_text("SELECT 1;\n")
    (root / "migrations" / "2_init.sql.mysql").write_text("SELECT 1;\n")
    (root / "migrations" / "notes.txt").write_text("not sql\n")
    proc = subprocess.run([sys.executable, "-m", "schemalint", "check", "migrations", "--format", "json",
                           "--no-cache"], cwd=root, capture_output=True, text=True, check=False)
    (note,) = json.loads(proc.stdout)["summary"]["notes"]
    assert note.startswith("2 files not checked (pattern): migrations/2_init.sql.mysql, migrations/2_init.sql.postgres")
    text = subprocess.run([sys.executable, "-m", "schemalint", "check", "migrations", "--no-cache"], cwd=root,
                          capture_output=True, text=True, check=False).stdout
    assert "All checks passed (1 file checked)" in text and "2 files not checked (pattern)" in text
