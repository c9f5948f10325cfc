"""The migration generator (`schemalint new`, the Python API the guide shows): every migration it can write
from each step kind, alone and combined, with and without a runner, has zero findings under the default
config with its history, and (slow) `verify` observes nothing and sees the rollback restore the schema."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from schemalint.authoring.generator import GeneratorError, Migration, MigrationGenerator
from schemalint.cli import app
from schemalint.run import RunRequest, execute
from tests.conftest import REPO

runner = CliRunner()
CORE = REPO / "fixtures" / "migrations" / "20241001_090000_create_core_tables.sql"

STEPS: dict[str, Any] = {
    "add_column": lambda g, m: g.add_add_column_step(
        m, table_name="accounts", column_name="customer_health_score",
        column_definition="DECIMAL(3,2) DEFAULT 0.75 CHECK (customer_health_score BETWEEN 0 AND 1)"),
    "add_column_fk_unique": lambda g, m: g.add_add_column_step(
        m, "opportunities", "external_ref", "uuid UNIQUE REFERENCES accounts (account_id)"),
    "create_index": lambda g, m: g.add_create_index_step(m, "accounts", "account_type"),
    "create_unique_index": lambda g, m: g.add_create_index_step(m, "accounts", "tenant_id, account_name", unique=True),
    "foreign_key": lambda g, m: g.add_foreign_key_step(m, "opportunities", ["account_id"], "accounts",
                                                       ["account_id"]),
    "check": lambda g, m: g.add_check_constraint_step(m, "opportunities", "amount >= 0"),
    "set_not_null": lambda g, m: g.add_set_not_null_step(m, "accounts", "account_type"),
    "create_table": lambda g, m: g.add_create_table_step(
        m, "account_segments", "account_id uuid NOT NULL REFERENCES accounts (account_id), "
                               "segment_type varchar(50) NOT NULL"),
}
COMBINED = ["create_table", "add_column", "create_index", "foreign_key", "check", "set_not_null"]


def project(tmp_path: Path, runner_name: str | None) -> Path:
    root = tmp_path / "project"
    (root / "migrations").mkdir(parents=True)
    shutil.copy(CORE, root / "migrations" / CORE.name)
    if runner_name:
        (root / "schemalint.toml").write_text(f'runner = "{runner_name}"\n')
    return root


def generate(root: Path, steps: list[str], when: int = 0) -> Path:
    generator = MigrationGenerator(start=root)
    migration = generator.create_migration(title=f"Generated {' and '.join(steps)}", author="Test")
    migration.created = dt.datetime(2024, 11, 1, 12, 0, when)
    for step in steps:
        STEPS[step](generator, migration)
    return generator.save_migration(migration)


def findings_of(root: Path, path: Path) -> list[str]:
    config = root / "schemalint.toml"
    from schemalint.config import load_settings

    settings = load_settings(config if config.exists() else None)
    result, _ = execute(RunRequest([str(root / "migrations")], settings, use_cache=False))
    assert not result.internal_errors, result.internal_errors
    return [f"{f.code} line {f.span.line}: {f.message}" for f in result.findings if f.file.endswith(path.name)]


CASES = [*[pytest.param([s], r, id=f"{s}-{r or 'psql'}") for s in STEPS for r in (None, "goose")],
         *[pytest.param(COMBINED, r, id=f"combined-{r or 'psql'}") for r in (None, "goose", "dbmate", "sqlx")]]


@pytest.mark.parametrize(("steps", "runner_name"), CASES)
def test_every_generated_migration_has_zero_findings(tmp_path: Path, steps: list[str], runner_name: str | None) -> None:
    root = project(tmp_path, runner_name)
    path = generate(root, steps)
    assert findings_of(root, path) == []


def test_the_guides_api_writes_the_guides_file(tmp_path: Path) -> None:
    root = project(tmp_path, None)
    generator = MigrationGenerator(start=root)
    migration = generator.create_migration(title="Add Customer Health Score to Accounts",
                                           description="Add customer_health_score field for account analytics",
                                           author="Your Name")
    generator.add_add_column_step(migration, table_name="accounts", column_name="customer_health_score",
                                  column_definition="DECIMAL(3,2) DEFAULT 0.75 CHECK (customer_health_score "
                                                    "BETWEEN 0 AND 1)")
    path = generator.save_migration(migration)
    assert path.parent == root / "migrations"
    assert path.name == f"{migration.version}_add_customer_health_score_to_accounts.sql"
    text = path.read_text()
    assert text == generator.render(migration)
    for line in ("-- MIGRATION: Add Customer Health Score to Accounts", f"-- Version: v{migration.version}",
                 "-- Author: Your Name", "-- Risk Assessment: medium", "-- UP MIGRATION",
                 "-- DOWN MIGRATION (ROLLBACK)", "SET lock_timeout = '5s';",
                 "ALTER TABLE accounts ADD COLUMN customer_health_score numeric(3, 2) DEFAULT 0.75,",
                 "    ADD CONSTRAINT chk_accounts_customer_health_score CHECK "
                 "(customer_health_score BETWEEN 0 AND 1) NOT VALID;",
                 "ALTER TABLE accounts VALIDATE CONSTRAINT chk_accounts_customer_health_score;",
                 "ALTER TABLE accounts DROP COLUMN IF EXISTS customer_health_score;"):
        assert line in text, line
    with pytest.raises(GeneratorError, match="already exists"):
        generator.save_migration(migration)  # never overwrites
    # the same intent written by hand, as the guide's unsafe one-liner, is reported (the check above can fail)
    naive = root / "migrations" / "20991231_000000_by_hand.sql"
    naive.write_text("\n".join(migration.steps[0].naive) + "\n")
    assert any(f.startswith("SL106") for f in findings_of(root, naive))


def test_bad_steps_are_one_line_errors_and_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path, None)
    monkeypatch.chdir(root)
    before = sorted(p.name for p in (root / "migrations").iterdir())
    for args, needle in [
        (["--add-column", "acounts.x", "int"], "table 'acounts' does not exist"),
        (["--add-column", "accounts.x", "int NOT NULL"], "NOT NULL without a constant default"),
        (["--add-column", "accounts.x", "int DEFAULT ("], "does not parse"),
        (["--add-index", "accounts"], "expected TABLE(COLUMNS)"),
        (["--add-foreign-key", "opportunities(account_id) accounts(account_id)"], "REFERENCES"),
        (["--bogus", "x"], "unknown option"),
        ([], "no steps"),
    ]:
        result = runner.invoke(app, ["new", "Broken", *args])
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        assert needle in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert sorted(p.name for p in (root / "migrations").iterdir()) == before


def test_cli_writes_into_the_newest_migrations_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path, None)
    monkeypatch.chdir(root)
    result = runner.invoke(app, ["new", "Index account type", "--author", "Ops", "--add-index", "accounts(account_type)",
                                 "--set-not-null", "accounts.account_type"])
    assert result.exit_code == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path.parent == root / "migrations" and path.name.endswith("_index_account_type.sql")
    text = path.read_text()
    assert text.index("Step 1: Create index") < text.index("Step 2: Make accounts.account_type NOT NULL")
    assert findings_of(root, path) == []


def test_tenant_column_type_comes_from_the_registry_in_the_history(tmp_path: Path) -> None:
    root = project(tmp_path, None)
    (root / "migrations" / CORE.name).write_text(CORE.read_text().replace(
        "tenant_id INTEGER GENERATED ALWAYS AS IDENTITY", "tenant_id bigint GENERATED ALWAYS AS IDENTITY"))
    path = generate(root, ["create_table"])
    text = path.read_text()
    assert "tenant_id bigint NOT NULL REFERENCES tenant_metadata (tenant_id)" in text
    assert "current_setting('app.tenant_id')::bigint" in text


def test_runner_markers(tmp_path: Path) -> None:
    for name, marker in (("goose", "-- +goose NO TRANSACTION"), ("dbmate", "-- migrate:up transaction:false"),
                         ("sqlx", "-- no-transaction")):
        root = project(tmp_path / name, name)
        text = generate(root, ["create_index"]).read_text()
        assert marker in text, name
        if name == "sqlx":
            assert text.startswith(marker)
    flyway = project(tmp_path / "flyway", "flyway")
    with pytest.raises(GeneratorError, match="split them into separate migrations"):
        generate(flyway, ["create_index"])


def test_risk_is_judged_from_the_unsafe_one_liners(tmp_path: Path) -> None:
    root = project(tmp_path, None)
    generator = MigrationGenerator(start=root)
    low = generator.create_migration(title="low")
    generator.add_create_table_step(low, "notes", "body text NOT NULL")
    assert generator.risk(low) == "low"
    medium = generator.create_migration(title="medium")
    generator.add_create_index_step(medium, "accounts", "account_name")
    assert generator.risk(medium) == "medium"
    high = generator.create_migration(title="high")
    generator.add_add_column_step(high, "accounts", "ref", "uuid DEFAULT gen_random_uuid()")
    assert generator.risk(high) == "high"
    assert generator.create_migration(title="x", risk="low").risk == "low"


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["alone", "combined"])
@pytest.mark.parametrize("runner_name", [None, "goose", "dbmate"])
def test_generated_migrations_are_clean_on_a_real_postgresql(tmp_path: Path, pg_server: Any,
                                                            runner_name: str | None, shape: str) -> None:
    from schemalint.config import load_settings
    from schemalint.verify.command import VerifyOptions, verify

    root = project(tmp_path, runner_name)
    if shape == "combined":
        generate(root, COMBINED)
    else:
        for second, step in enumerate(STEPS):
            generate(root, [step], when=second)
    settings = load_settings(root / "schemalint.toml" if runner_name else None)
    settings.ignore = []
    request = RunRequest([str(root / "migrations")], settings, use_cache=False)
    result, reports, _ = verify(request, VerifyOptions(dsn=pg_server.dsn))
    generated = [f for f in result.findings if "generated" in f.file]
    assert generated == [], [f"{f.code} {f.file}:{f.span.line} {f.message}" for f in generated]
    rollbacks = {r.file.rsplit("/", 1)[-1]: r.rollback for r in reports if "generated" in r.file}
    assert rollbacks and set(rollbacks.values()) == {"restored"}, rollbacks


GENERATED = REPO / "fixtures" / "migrations_generated"


def guide_examples(root: Path) -> dict[str, str]:
    """The guide's Pattern 1, its health-score migration and Pattern 2, written through the API."""
    generator = MigrationGenerator(start=root)
    out: dict[str, str] = {}

    def keep(migration: Migration) -> None:
        out[generator.filename(migration)] = generator.render(migration)

    pattern1 = generator.create_migration(title="Pattern 1 add optional customer health score",
                                          description="The guide's Pattern 1: an optional column", author="Guide")
    pattern1.created = dt.datetime(2024, 11, 2, 9, 0, 0)
    generator.add_add_column_step(pattern1, "accounts", "customer_health_score",
                                  "DECIMAL(3,2) DEFAULT 0.75 CHECK (customer_health_score BETWEEN 0 AND 1)")
    generator.add_create_index_step(pattern1, "accounts", "customer_health_score",
                                    where="customer_health_score IS NOT NULL")
    keep(pattern1)
    health = generator.create_migration(title="Add Customer Health Score to Accounts",
                                        description="Add customer_health_score field for account analytics",
                                        author="Platform Team")
    health.created = dt.datetime(2024, 11, 2, 9, 30, 0)
    generator.add_add_column_step(health, table_name="accounts", column_name="customer_health_score",
                                  column_definition="DECIMAL(3,2) DEFAULT 0.75 CHECK (customer_health_score "
                                                    "BETWEEN 0 AND 1)")
    generator.add_create_index_step(health, "accounts", "customer_health_score",
                                    where="customer_health_score != 0.75")
    keep(health)
    pattern2 = generator.create_migration(title="Pattern 2 account analytics extension table",
                                          description="The guide's Pattern 2: an extension table", author="Guide")
    pattern2.created = dt.datetime(2024, 11, 2, 10, 0, 0)
    generator.add_create_table_step(pattern2, "account_analytics", """
        account_id UUID NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
        engagement_score DECIMAL(3,2) DEFAULT 0.50,
        growth_trend VARCHAR(20) DEFAULT 'stable',
        risk_indicators JSONB DEFAULT '[]',
        created_by_user_id INTEGER,
        CONSTRAINT uk_account_analytics_account UNIQUE (account_id),
        CONSTRAINT chk_engagement_score CHECK (engagement_score BETWEEN 0 AND 1),
        CONSTRAINT chk_growth_trend CHECK (growth_trend IN ('declining', 'stable', 'growing', 'accelerating'))""")
    generator.add_create_index_step(pattern2, "account_analytics", "engagement_score")
    keep(pattern2)
    return out


def test_the_guides_examples_are_generated_safe(tmp_path: Path) -> None:
    root = project(tmp_path, None)
    examples = guide_examples(root)
    if __import__("os").environ.get("SCHEMALINT_REGENERATE"):
        GENERATED.mkdir(exist_ok=True)
        for name, text in examples.items():
            (GENERATED / name).write_text(text)
    assert sorted(p.name for p in GENERATED.glob("*.sql")) == sorted(examples)
    for name, text in examples.items():
        assert (GENERATED / name).read_text() == text, f"fixtures/migrations_generated/{name} is not what the generator writes"
        (root / "migrations" / name).write_text(text)
    for name in examples:
        assert findings_of(root, root / "migrations" / name) == [], name


def test_the_runner_is_detected_from_the_history(tmp_path: Path) -> None:
    """No runner in the config: the history's goose markers decide the layout and the opt-out marker."""
    root = tmp_path / "project"
    (root / "db").mkdir(parents=True)
    (root / "db" / "20240101000000_init.sql").write_text(
        "-- +goose Up\n" + CORE.read_text() + "\n-- +goose Down\nDROP TABLE opportunities;\n")
    path = generate(root, ["create_index", "set_not_null"])
    text = path.read_text()
    assert path.parent == root / "db"
    assert "-- +goose NO TRANSACTION" in text and "-- +goose Up" in text and "-- +goose Down" in text
    assert findings_of_folder(root, root / "db", path) == []


def findings_of_folder(root: Path, folder: Path, path: Path) -> list[str]:
    from schemalint.config import load_settings

    result, _ = execute(RunRequest([str(folder)], load_settings(None), use_cache=False))
    return [f"{f.code} line {f.span.line}: {f.message}" for f in result.findings if f.file.endswith(path.name)]
