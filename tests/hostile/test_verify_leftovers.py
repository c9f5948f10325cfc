"""Item 1: verify's clean-up of leftover clusters never signals a process it did not start, and never touches a
folder it did not make (root's run included)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemalint.verify.server import CLUSTER_PREFIX, OWNER_MARKER, remove_leftovers


@pytest.fixture
def victim() -> Iterator[subprocess.Popen[bytes]]:
    """A process someone else cares about (sshd, a database): it must survive."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


def plant(base: Path, name: str, pid: int, mode: int = 0o700, marker: bool = True) -> Path:
    folder = base / f"{CLUSTER_PREFIX}{name}"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "postmaster.pid").write_text(f"{pid}\n/somewhere\n")
    if marker:
        (folder / OWNER_MARKER).write_text(json.dumps({"pid": 999_999_999, "start": None}))
    folder.chmod(mode)
    return folder


def test_a_pid_that_is_not_the_folders_postgres_is_never_signalled(tmp_path: Path,
                                                                    victim: subprocess.Popen[bytes]) -> None:
    folder = plant(tmp_path, "forged", victim.pid)
    lines = remove_leftovers(tmp_path)
    assert victim.poll() is None  # still running
    assert not folder.exists() and any("removed a verify cluster" in line for line in lines)


def test_folders_verify_did_not_make_are_left_with_a_note(tmp_path: Path, victim: subprocess.Popen[bytes]) -> None:
    open_mode = plant(tmp_path, "world-readable", victim.pid, mode=0o755)
    no_marker = plant(tmp_path, "no-marker", victim.pid, marker=False)
    lines = remove_leftovers(tmp_path)
    assert victim.poll() is None
    assert open_mode.exists() and no_marker.exists()
    assert any("its mode is 755, not 700" in line for line in lines)
    assert any("it has no verify marker" in line for line in lines)


@pytest.mark.skipif(os.geteuid() != 0, reason="planting a folder as another user needs root (CI runs as root)")
def test_as_root_another_users_folder_is_left_alone(tmp_path: Path, victim: subprocess.Popen[bytes]) -> None:
    folder = plant(tmp_path, "planted-by-nobody", victim.pid)
    os.chown(folder, 65534, 65534)
    lines = remove_leftovers(tmp_path, "postgres")
    assert victim.poll() is None and folder.exists()
    assert any("it belongs to uid 65534" in line for line in lines)
