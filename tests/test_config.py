from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from schemalint.cli import app
from schemalint.config import ConfigError, find_config, load_settings
from schemalint.findings import Severity

runner = CliRunner()
BAD = "CREATE INDEX idx_a ON accounts (a);\nALTER TABLE accounts DROP COLUMN b;\n"


def test_pyproject_found_from_a_subdirectory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.schemalint]\nignore = ["SL201"]\n')
    sub = tmp_path / "db" / "migrations"
    sub.mkdir(parents=True)
    (sub / "1.sql").write_text(BAD)
    monkeypatch.chdir(sub)
    assert find_config(Path.cwd()) == tmp_path / "pyproject.toml"
    result = runner.invoke(app, ["check", "--format", "concise", "1.sql"])
    assert "SL102" in result.stdout and "SL201" not in result.stdout


def test_schemalint_toml_wins_over_pyproject_in_the_same_folder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.schemalint]\nignore = ["SL201"]\n')
    (tmp_path / "schemalint.toml").write_text('ignore = ["SL102"]\n')
    assert find_config(tmp_path) == tmp_path / "schemalint.toml"


def test_pyproject_without_our_table_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_config(tmp_path) is None or find_config(tmp_path) != tmp_path / "pyproject.toml"


def test_all_keys(tmp_path: Path) -> None:
    path = tmp_path / "schemalint.toml"
    path.write_text(
        'select = ["SL1"]\nextend-select = ["drop-column"]\nignore = ["SL103"]\n'
        'include = ["*.sql", "*.psql"]\nexclude = ["seeds/*"]\ntarget-postgres = 12\n'
        'assume-in-transaction = true\nfail-on = "warning"\n'
        '[severity]\nSL102 = "warning"\n[per-file-ignores]\n"legacy/*.sql" = ["SL201"]\n'
        '[locks]\nrunner-sets-lock-timeout = true\n'
    )
    s = load_settings(path)
    assert s.select == ["SL1"] and s.extend_select == ["drop-column"] and s.ignore == ["SL103"]
    assert s.target_postgres == 12 and s.assume_in_transaction and s.fail_on == Severity.WARNING
    assert s.severity == {"SL102": Severity.WARNING}
    assert s.per_file_ignores == {"legacy/*.sql": ["SL201"]}
    assert s.option("locks", "runner-sets-lock-timeout") is True


@pytest.mark.parametrize(("content", "needle"), [
    ("colour = true\n", "unknown key 'colour'"),
    ("target-postgres = 9\n", "target-postgres"),
    ("target-postgres = \"15\"\n", "expected an integer"),
    ("fail-on = \"fatal\"\n", "fail-on"),
    ("select = \"SL1\"\n", "expected a list"),
    ("[locks]\nrunner-sets-timeout = true\n", "locks.runner-sets-timeout"),
    ("select = [\n", "invalid TOML"),
])
def test_bad_config_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, needle: str) -> None:
    path = tmp_path / "schemalint.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(path) in str(info.value) and needle in str(info.value)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.sql").write_text("SELECT 1;\n")
    result = runner.invoke(app, ["check", "m.sql"])
    assert result.exit_code == 2
    assert needle in result.stderr and "Traceback" not in result.stderr


def test_unknown_code_in_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "schemalint.toml").write_text('[severity]\nSL777 = "warning"\n')
    (tmp_path / "m.sql").write_text("SELECT 1;\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check", "m.sql"])
    assert result.exit_code == 2 and "SL777" in result.stderr


def test_explicit_config_flag_and_severity_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "elsewhere.toml"
    conf.write_text('[severity]\nSL102 = "warning"\n')
    (tmp_path / "m.sql").write_text("CREATE INDEX idx_a ON accounts (a);\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check", "--config", str(conf), "--format", "concise", "m.sql"])
    assert result.exit_code == 0 and "SL102 [warning]" in result.stdout
    assert runner.invoke(app, ["check", "--config", "missing.toml", "m.sql"]).exit_code == 2


def test_per_file_ignores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "schemalint.toml").write_text('[per-file-ignores]\n"legacy/*.sql" = ["SL201"]\n')
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "1.sql").write_text(BAD)
    (tmp_path / "2.sql").write_text("ALTER TABLE accounts DROP COLUMN c;\n")
    monkeypatch.chdir(tmp_path)
    out = runner.invoke(app, ["check", "--format", "concise", "."]).stdout
    assert "legacy/1.sql:1:1: SL102" in out and "legacy/1.sql:2:1: SL201" not in out
    assert "2.sql:1:1: SL201" in out


def test_include_and_exclude(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.psql").write_text(BAD)
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "s.sql").write_text(BAD)
    (tmp_path / "m.sql").write_text(BAD)
    monkeypatch.chdir(tmp_path)
    out = runner.invoke(app, ["check", "--format", "concise", "--include", "*.sql,*.psql", "--exclude", "seeds", "."]).stdout
    files = {line.split(":")[0] for line in out.splitlines()}
    assert files == {"a.psql", "m.sql"}


def test_per_file_ignores_match_normalised_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "schemalint.toml").write_text('[per-file-ignores]\n"legacy/*.sql" = ["create-index-non-concurrently"]\n')
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "1.sql").write_text("CREATE INDEX idx_a ON accounts (a);\n")
    monkeypatch.chdir(tmp_path)
    out = runner.invoke(app, ["check", "--format", "concise", "--select", "SL102", "./legacy/1.sql"]).stdout
    assert out == ""
