"""SIGHUP to the app (the SSH session dropped) while it records: the file is closed with
its last iterations and the terminal is given back in its normal mode. Runs in tmux."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from loopstep.engine.recording import read_recording

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "src"))


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def wait_until(condition, what: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.parametrize("signum", [getattr(signal, "SIGHUP", 1), signal.SIGTERM])
def test_hangup_in_the_app_closes_the_recording_and_restores_the_terminal(tmp_path, signum):
    path = tmp_path / "app.lsr"
    status, stty = tmp_path / "status", tmp_path / "stty"
    session = f"loopstep-rec-{os.getpid()}-{tmp_path.name}"
    command = (
        f"cd {tmp_path} && PYTHONPATH={SRC} {sys.executable} -m loopstep demo --epochs 100000 "
        f"--record {path}; echo $? > {status}; stty -a > {stty}; sleep 60"
    )
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", command)
    try:
        wait_until(lambda: "step" in tmux("capture-pane", "-p", "-t", session), "the app's first frame")
        wait_until(lambda: path.exists() and path.stat().st_size > 0, "the recording's header")
        tmux("send-keys", "-t", session, "c")  # continue: the run goes on until the signal
        wait_until(lambda: path.stat().st_size > 50_000, "a few recorded iterations")
        # The recording's path is unique to this test: it finds this app and no other.
        found = subprocess.run(["pgrep", "-f", "--", f"--record {path}"], capture_output=True, text=True)
        pids = [int(p) for p in found.stdout.split() if int(p) != os.getpid()]
        app = [p for p in pids if open(f"/proc/{p}/cmdline", "rb").read().startswith(sys.executable.encode())]
        assert app, found.stdout
        os.kill(app[0], signum)
        wait_until(lambda: status.exists() and stty.exists() and stty.read_text().strip(), "the app to exit")
        assert status.read_text().strip() == str(128 + signum)
        modes = stty.read_text().split()
        assert "icanon" in modes and "echo" in modes  # not left in raw mode
    finally:
        tmux("kill-session", "-t", session)
    recording = read_recording(str(path))
    assert not recording.cut_off and recording.end["reason"] == f"signal {signum}"
    assert len(recording.phases) > 10
