"""Shared helpers for the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
