"""Item 7: a migration cannot fill the disk through verify: the throwaway cluster's folder is watched and a
statement that takes it past max-cluster-size is cancelled (SL501 says so); in CI a run always has a timeout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

RUNAWAY = ("CREATE TABLE runaway (payload text);\n"
           "INSERT INTO runaway SELECT repeat(md5(g::text), 40) FROM generate_series(1, 50000000) AS g;\n")


@pytest.mark.slow
def test_a_runaway_insert_is_stopped_at_max_cluster_size(tmp_path: Path, pg_server: Any) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "001_fill.sql").write_text(RUNAWAY)
    proc = subprocess.run([sys.executable, "-m", "schemalint", "verify", "--format", "json", "--max-cluster-size",
                           "150MB", "--statement-timeout", "120s", "m"], cwd=tmp_path, capture_output=True,
                          text=True, check=False, timeout=300)
    payload = json.loads(proc.stdout)
    (finding,) = [f for f in payload["findings"] if f["code"] == "SL501"]
    assert "stopped: the scratch cluster passed 150 MB (max-cluster-size)" in finding["message"], finding


def test_max_cluster_size_must_be_a_size(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "001.sql").write_text("SELECT 1;\n")
    proc = subprocess.run([sys.executable, "-m", "schemalint", "verify", "--max-cluster-size", "lots", "m"],
                          cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 2 and "--max-cluster-size 'lots'" in proc.stderr


@pytest.mark.slow
def test_ci_runs_get_a_timeout_of_their_own(tmp_path: Path, pg_server: Any) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "001.sql").write_text("CREATE TABLE t (id int);\n")
    env = {**os.environ, "CI": "true"}
    proc = subprocess.run([sys.executable, "-m", "schemalint", "verify", "--format", "json", "m"], cwd=tmp_path,
                          capture_output=True, text=True, check=False, timeout=300, env=env)
    notes = json.loads(proc.stdout)["summary"]["notes"]
    assert "limits: 1m a statement, 30m for the run, the cluster's folder at most 2 GB" in notes, notes
