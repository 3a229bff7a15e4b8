"""Shared helpers for the tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config) -> None:
    """Each test process lists only the listening runs it started: its own runs directory
    (``XDG_RUNTIME_DIR``), inherited by what it starts, when tests run side by side
    (pytest-xdist). A test that looks at runs takes one of its own too (``runs_home``)."""
    if "XDG_RUNTIME_DIR" in os.environ and not hasattr(config, "workerinput"):
        return  # not a worker: the runs of this session's own processes, as a user's would be
    home = tempfile.mkdtemp(prefix="loopstep-test-runs-")  # 0700, as runs_dir() wants
    config.loopstep_runs_home = home
    os.environ["XDG_RUNTIME_DIR"] = home


def pytest_unconfigure(config) -> None:
    home = getattr(config, "loopstep_runs_home", None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


def run_cli(
    *args: str, env: dict | None = None, timeout: float = 120, cwd: str | None = None
) -> subprocess.CompletedProcess:
    """Run ``python -m loopstep ARGS`` in a fresh interpreter and capture its output."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "loopstep", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=cwd,
    )


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def runs_home(tmp_path, monkeypatch):
    """A runs directory of the test's own (XDG_RUNTIME_DIR), shared with the processes it starts
    (listening runs, the ranks of a torchrun job)."""
    home = tmp_path / "runtime"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(home))
    return home
