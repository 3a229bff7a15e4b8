"""Recordings made once per test session and shared (read-only) by the tests."""

from __future__ import annotations

import pytest

from loopstep.cli import main as cli_main


@pytest.fixture(scope="session")
def linreg_recording(tmp_path_factory) -> str:
    """Two epochs of linreg (numpy), recorded through `loopstep trace --record`."""
    path = tmp_path_factory.mktemp("rec") / "linreg.lsr"
    assert cli_main(["trace", "--epochs", "2", "--record", str(path), "--format", "jsonl"]) == 0
    return str(path)


def run_cli(capsys, argv: list[str]) -> tuple[int, str, str]:
    status = cli_main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err
