"""A recording run killed with SIGKILL or hung up with SIGHUP replays up to where it stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from loopstep.engine.recording import read_recording

SRC = os.path.join(os.path.dirname(__file__), "..", "..", "src")


def start_recording_run(path: str) -> subprocess.Popen:
    """A long text-mode run recording to ``path`` (1000 epochs of linreg: minutes if not stopped)."""
    env = dict(os.environ, PYTHONPATH=os.path.abspath(SRC))
    return subprocess.Popen(
        [sys.executable, "-m", "loopstep", "trace", "linreg", "--epochs", "1000", "--record", path],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def wait_for_frames(path: str, process: subprocess.Popen, size: int = 60_000) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > size:
            return
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.02)
    pytest.fail("the run recorded nothing within 60 s")


def replay_text(path: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(SRC))
    return subprocess.run(
        [sys.executable, "-m", "loopstep", "replay", path, "--no-tui"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_sigkill_leaves_a_replayable_prefix(tmp_path):
    path = str(tmp_path / "killed.lsr")
    process = start_recording_run(path)
    wait_for_frames(path, process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    recording = read_recording(path)
    assert recording.cut_off and len(recording.phases) > 20
    assert recording.phases[-1].event.phase.value in ("zero_grad", "validate")
    result = replay_text(path)
    assert result.returncode == 0, result.stderr
    assert "the run was cut off" in result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(recording.phases) + 1  # the header line, then one line per phase
    last = recording.phases[-1].event
    assert f"{last.iteration:>5}  {last.phase.value}" in lines[-1]


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
@pytest.mark.parametrize("signum", [getattr(signal, "SIGHUP", 1), signal.SIGTERM])
def test_hangup_closes_the_recording_and_exits(tmp_path, signum):
    path = str(tmp_path / "hungup.lsr")
    process = start_recording_run(path)
    wait_for_frames(path, process)
    process.send_signal(signum)
    assert process.wait(timeout=20) == 128 + signum
    recording = read_recording(path)
    assert not recording.cut_off
    assert recording.end["reason"] == f"signal {signum}"
    result = replay_text(path)
    assert result.returncode == 0, result.stderr
    assert f"stopped by signal {signum}" in result.stderr
    assert len(result.stdout.splitlines()) == len(recording.phases) + 1
