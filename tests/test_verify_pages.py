"""The SL5xx pages' examples, run through `verify` against a real server (scratch database per example)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from schemalint.config import Settings
from schemalint.run import RunRequest
from schemalint.verify.command import VerifyOptions, verify
from tests.test_rule_pages import PAGES, examples

SERVER_CASES = [
    pytest.param(page, i, kind, sql, history, id=f"{page.stem[:5]}-{i}-{kind}")
    for page in sorted(PAGES.glob("SL5*.md"))
    for i, (kind, _opts, sql, history) in enumerate(examples(page))
]


@pytest.mark.slow
@pytest.mark.parametrize(("page", "number", "kind", "sql", "history"), SERVER_CASES)
def test_server_page_example(pg_server: Any, tmp_path: Path, page: Path, number: int, kind: str, sql: str,
                             history: str) -> None:
    code = page.name[:5]
    (tmp_path / "20240101_000000_history.sql").write_text(history)
    (tmp_path / "20240201_000000_example.sql").write_text(sql)
    dsn = pg_server.dsn
    result, _, _ = verify(RunRequest([str(tmp_path)], Settings(), use_cache=False), VerifyOptions(dsn=dsn))
    raised = [f for f in result.findings if f.code == code and f.file.endswith("example.sql")]
    if kind == "bad":
        assert raised, f"{page.name} example {number} should raise {code}"
    else:
        assert not raised, f"{page.name} example {number} should not raise {code}: {raised[0].message}"
