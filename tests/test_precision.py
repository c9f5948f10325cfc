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
    from schemalint.sources import SourceFile

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
