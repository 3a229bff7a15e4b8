"""An app whose terminal goes away while the run continues must end, not train on unseen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _alive(marker: str) -> bool:
    return subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 0


def test_killed_terminal_ends_a_running_app(tmp_path):
    socket = f"loopstep-lost-{os.getpid()}"
    seed = str(900000 + os.getpid() % 90000)  # makes the process easy to find
    marker = f"loopstep demo --epochs 100000 --seed {seed}"
    src = os.path.join(os.path.dirname(__file__), "..", "..", "src")
    command = f"cd {tmp_path} && PYTHONPATH={os.path.abspath(src)} {sys.executable} -m {marker}"
    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-x", "80", "-y", "24", command], check=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            screen = subprocess.run(
                ["tmux", "-L", socket, "capture-pane", "-p"], capture_output=True, text=True
            ).stdout
            if "paused" in screen:
                break
            time.sleep(0.3)
        assert "paused" in screen, screen
        subprocess.run(["tmux", "-L", socket, "send-keys", "c"], check=True)
        time.sleep(1.5)
        assert _alive(marker)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    deadline = time.monotonic() + 20
    while _alive(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    gone = not _alive(marker)
    if not gone:
        subprocess.run(["pkill", "-f", marker])
    assert gone, "the app kept running after its terminal went away"
