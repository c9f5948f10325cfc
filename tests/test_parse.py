from schemalint.sql.parse import parse
from schemalint.sql.text import SourceText


def spans(sql: str) -> list[tuple[str, int, int, int, int]]:
    result = parse(sql)
    return [(s.kind, s.span.line, s.span.column, s.span.end_line, s.span.end_column) for s in result.statements]


def test_statement_spans_are_exact_and_one_based() -> None:
    sql = "SELECT 1;\n  CREATE INDEX i ON t (a);\n"
    assert spans(sql) == [("SelectStmt", 1, 1, 1, 8), ("IndexStmt", 2, 3, 2, 25)]


def test_spans_count_characters_not_bytes() -> None:
    sql = "SELECT 'héllo wörld';  CREATE INDEX ï ON t (a);"
    result = parse(sql)
    index = result.statements[1]
    assert index.text == "CREATE INDEX ï ON t (a)"
    assert (index.span.line, index.span.column) == (1, 24)
    # node locations (bytes in pglast's JSON) map back to characters
    rel_loc = index.node["relation"]["location"]
    assert sql[index.offset_of(rel_loc)] == "t"


def test_multiline_statement_span() -> None:
    sql = "-- header\nALTER TABLE t\n  ADD COLUMN a int;\n"
    assert spans(sql) == [("AlterTableStmt", 2, 1, 3, 18)]


def test_crlf_line_endings() -> None:
    sql = "SELECT 1;\r\nCREATE INDEX i\r\n ON t (a);\r\n"
    assert spans(sql)[1][1:] == (2, 1, 3, 9)


def test_psql_meta_commands_are_skipped() -> None:
    sql = "\\set ON_ERROR_STOP on\nSELECT 1;\n  \\i other.sql\nSELECT 2;"
    result = parse(sql)
    assert not result.errors
    assert [s.span.line for s in result.statements] == [2, 4]


def test_syntax_error_in_the_middle_keeps_the_other_statements() -> None:
    sql = "CREATE TABLE a (id int);\nCREATE TABLEX b (id int);\nCREATE INDEX i ON a (id);\n"
    result = parse(sql)
    assert [s.kind for s in result.statements] == ["CreateStmt", "IndexStmt"]
    assert len(result.errors) == 1
    error = result.errors[0]
    assert SourceText(sql).position(error.offset) == (2, 8)
    assert "syntax error" in error.message


def test_unterminated_string_is_one_error_at_its_location() -> None:
    sql = "SELECT 1;\nSELECT 'abc"
    result = parse(sql)
    assert [s.kind for s in result.statements] == ["SelectStmt"]
    assert len(result.errors) == 1
    assert SourceText(sql).position(result.errors[0].offset) == (2, 8)


def test_template_placeholders_are_named() -> None:
    result = parse('CREATE TABLE {{ index .Options "Namespace" }}.users (id int);')
    assert result.template is not None and result.template.offset == 13
    assert '{{ index .Options "Namespace" }} is not SQL' in result.template.message
    # placeholders inside strings, comments and dollar quotes are not a template
    assert parse("SELECT '{{x}}';\n-- ${y}\nSELECT $$ {% z %} $$; SELECT FROM;").template is None
    assert parse("SELECT ${user_table}.id FROM t;").template.offset == 7  # type: ignore[union-attr]


def test_dollar_quoted_bodies_with_semicolons_and_comments() -> None:
    sql = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; -- not a comment\n $$ LANGUAGE sql;\nSELECT 2;"
    result = parse(sql)
    assert not result.errors
    assert [s.kind for s in result.statements] == ["CreateFunctionStmt", "SelectStmt"]


def test_statement_without_trailing_semicolon() -> None:
    assert spans("SELECT 1;\nSELECT 2") == [("SelectStmt", 1, 1, 1, 8), ("SelectStmt", 2, 1, 2, 8)]


def test_copy_from_stdin_data_is_not_sql() -> None:
    sql = "CREATE TABLE t (a int, b text);\nCOPY t (a, b) FROM stdin;\n1\thello; world\n2\t\\N\n\\.\nCREATE INDEX i ON t (a);\n"
    result = parse(sql)
    assert not result.errors
    assert [(s.kind, s.span.line) for s in result.statements] == [("CreateStmt", 1), ("CopyStmt", 2), ("IndexStmt", 6)]
