"""Fixtures of the listening-run tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def runs_home(tmp_path, monkeypatch):
    """A runs directory of the test's own (XDG_RUNTIME_DIR), shared with the processes it starts."""
    home = tmp_path / "runtime"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(home))
    return home
