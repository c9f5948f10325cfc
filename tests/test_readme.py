"""The README's rule table is the registry's, and its two commands are the ones CI runs."""

from __future__ import annotations

import re

from schemalint.rules import all_rules
from tests.conftest import REPO


def test_rule_table_matches_the_registry() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- rules-table.*?-->\n(.*?)<!-- /rules-table -->", text, re.S)
    assert block is not None
    rows = [line for line in block.group(1).splitlines() if line.startswith("| [SL")]
    expected = [f"| [{r.code}](rules/{r.page_name}) | {r.name} | {r.severity.label} | {r.summary.replace('|', '/')} |"
                for r in all_rules().values()]
    assert rows == expected


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    command = "python3 -m pip install -e '.[dev]' && python3 -m pytest -q"
    assert command in readme and command in ci


def test_readme_config_example_is_valid() -> None:
    import tomllib

    from schemalint.config import settings_from_table

    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(\[tool\.schemalint\].*?)```", text, re.S)
    assert block is not None
    settings = settings_from_table(tomllib.loads(block.group(1))["tool"]["schemalint"], "README.md")
    assert settings.option("tenancy", "column") == "tenant_id"
