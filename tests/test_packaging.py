"""The wheel ships the rule pages, so `schemalint explain` works from an installed package."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from schemalint.rules import all_rules
from tests.conftest import REPO


@pytest.mark.slow
def test_wheel_contains_every_rule_page(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("schemalint-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for rule in all_rules().values():
        assert f"schemalint/rule_docs/{rule.page_name}" in names
    assert "schemalint/py.typed" in names
