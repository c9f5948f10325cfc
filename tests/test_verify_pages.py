"""The SL5xx pages' examples, run through `verify` against a real server (scratch database per example)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from schemalint.config import settings_from_table
from schemalint.run import RunRequest
from schemalint.verify.command import VerifyOptions, verify
from tests.test_rule_pages import _FENCE, PAGES, _settings, examples

SERVER_CASES = [
    pytest.param(page, i, kind, opts, sql, history, id=f"{page.stem[:5]}-{i}-{kind}")
    for page in sorted(PAGES.glob("SL5*.md"))
    for i, (kind, opts, sql, history) in enumerate(examples(page))
]


@pytest.mark.slow
@pytest.mark.parametrize(("page", "number", "kind", "opts", "sql", "history"), SERVER_CASES)
def test_server_page_example(pg_server: Any, tmp_path: Path, page: Path, number: int, kind: str, opts: str,
                             sql: str, history: str) -> None:
    code = page.name[:5]
    (tmp_path / "20240101_000000_history.sql").write_text(history)
    (tmp_path / "20240201_000000_example.sql").write_text(sql)
    dsn = pg_server.dsn
    table = _settings(opts)  # rows=N and probe=true are verify's options, the rest config
    rows, probe = table.pop("rows", None), bool(table.pop("probe", False))
    queries = [match.group("body") for match in _FENCE.finditer(page.read_text()) if match.group("kind") == "queries"]
    if queries:  # a ```sql queries block: the application's statements, for verify --queries
        (tmp_path.parent / f"{tmp_path.name}-queries.sql").write_text("".join(queries))
    options = VerifyOptions(dsn=dsn, rows=int(rows) if rows is not None else None, probe=probe,
                            queries=[str(tmp_path.parent / f"{tmp_path.name}-queries.sql")] if queries else None)
    settings = settings_from_table(table, "<page>")
    result, _, _ = verify(RunRequest([str(tmp_path)], settings, use_cache=False), options)
    raised = [f for f in result.findings if f.code == code and f.file.endswith("example.sql")]
    if kind == "bad":
        assert raised, f"{page.name} example {number} should raise {code}"
    else:
        assert not raised, f"{page.name} example {number} should not raise {code}: {raised[0].message}"
