from tests.conftest import codes, lint

INDEX = "CREATE INDEX idx_a ON accounts (a)"


def test_directive_above_covers_a_multiline_statement() -> None:
    sql = f"-- schemalint: ignore SL102\nCREATE INDEX idx_a\n  ON accounts (a);\n{INDEX.replace('idx_a', 'idx_b')};\n"
    findings = lint(sql)
    assert [(f.code, f.span.line) for f in findings] == [("SL102", 4)]


def test_trailing_directive_on_first_line_and_names() -> None:
    assert codes(lint(f"{INDEX}; -- schemalint: ignore create-index-non-concurrently\n")) == []


def test_directive_only_covers_the_codes_it_names() -> None:
    sql = f"-- schemalint: ignore SL201\n{INDEX};\n"
    assert codes(lint(sql)) == ["SL102"]


def test_several_codes_and_a_reason() -> None:
    sql = ("-- schemalint: ignore SL102, SL201 -- reviewed by the DBA team\n"
           "ALTER TABLE accounts DROP COLUMN a;\n" + INDEX + ";\n")
    assert codes(lint(sql)) == ["SL102"]


def test_ignore_file_all_and_selected() -> None:
    assert codes(lint(f"{INDEX};\n-- schemalint: ignore-file\nALTER TABLE accounts DROP COLUMN a;\n")) == []
    assert codes(lint(f"{INDEX};\n/* schemalint: ignore-file SL201 */\nALTER TABLE accounts DROP COLUMN a;\n")) == ["SL102"]


def test_unknown_codes_are_reported_and_never_silence_everything() -> None:
    findings = lint(f"-- schemalint: ignore-file SL9999\n{INDEX};\n")
    assert sorted(codes(findings)) == ["SL003", "SL102"]
    sl003 = next(f for f in findings if f.code == "SL003")
    assert "SL9999" in sl003.message and sl003.span.line == 1


def test_malformed_directive() -> None:
    findings = lint(f"-- schemalint: ignroe SL102\n{INDEX};\n")
    assert sorted(codes(findings)) == ["SL003", "SL102"]


def test_directives_in_strings_are_not_read() -> None:
    sql = f"SELECT '-- schemalint: ignore-file';\n{INDEX};\n"
    assert codes(lint(sql)) == ["SL102"]


def test_syntax_errors_cannot_be_suppressed() -> None:
    assert codes(lint("-- schemalint: ignore-file\nSELEC 1;\n")) == ["SL001"]
