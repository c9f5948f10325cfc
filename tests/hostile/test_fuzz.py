"""The fuzzing harness (benchmarks/fuzz.py) on a small sample: it runs, passes, and keeps nothing behind. The full
run (5,000 files, every format) is one command: `python benchmarks/fuzz.py`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

CORPUS = REPO.parent / "shared" / "corpus"


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not beside the repository")
def test_a_small_fuzzing_run_passes() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "fuzz.py"), "--files", "400", "--batch", "100",
                           "--seed", "11", "--jobs", "2"], capture_output=True, text=True, check=False, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "400 mutated files" in proc.stdout and "failures: 0" in proc.stdout
