"""Item 4: `--fix` writes only files it parsed as PostgreSQL. Other databases' migrations, files that do not parse,
templates and files that are not text are left byte for byte, while a PostgreSQL file beside them is fixed (so the
test fails if fixing stops working at all)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

UNSAFE = "CREATE INDEX idx_accounts_name ON accounts (name);\n"

NOT_POSTGRES = {
    "20240101000000_add_index.mysql.up.sql": UNSAFE.encode(),  # popx: another database's file
    "mysql/002_add_index.sql": UNSAFE.encode(),  # a folder named for another database
    "003_syntax_error.sql": (UNSAFE + "ALTER TABLE accounts ADD COLUMN;\n").encode(),
    "004_template.sql": (UNSAFE + "CREATE INDEX idx_{{ .Table }}_x ON {{ .Table }} (x);\n").encode(),
    "005_latin1.sql": UNSAFE.encode() + b"-- caf\xe9\n",
}


def test_fix_never_writes_a_file_it_did_not_parse_as_postgres(tmp_path: Path) -> None:
    (tmp_path / "schemalint.toml").write_text('runner = "psql"\n')  # psql: every fix applies (no transaction)
    migrations = tmp_path / "migrations"
    (migrations / "mysql").mkdir(parents=True)
    (migrations / "000_accounts.sql").write_text("CREATE TABLE accounts (id bigint PRIMARY KEY, name text);\n")
    (migrations / "006_postgres.sql").write_text(UNSAFE.replace("idx_accounts_name", "idx_accounts_name2"))
    for name, data in NOT_POSTGRES.items():
        (migrations / name).write_bytes(data)
    proc = subprocess.run([sys.executable, "-m", "schemalint", "check", "--no-cache", "--fix", "--unsafe-fixes",
                           "migrations"], cwd=tmp_path, capture_output=True, check=False, timeout=120)
    assert b"Traceback" not in proc.stderr, proc.stderr
    assert "CONCURRENTLY" in (migrations / "006_postgres.sql").read_text(), proc.stdout
    for name, data in NOT_POSTGRES.items():
        assert (migrations / name).read_bytes() == data, name
