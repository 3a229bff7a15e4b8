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


def test_a_terminal_gone_without_a_hangup_signal_ends_the_app():
    """A process that holds a terminal it does not own gets no SIGHUP when the terminal
    closes: the app must notice by itself, not spin on the dead input for ever."""
    import fcntl
    import select
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    src = os.path.join(os.path.dirname(__file__), "..", "..", "src")
    env = dict(os.environ, TERM="xterm-256color", PYTHONPATH=os.path.abspath(src))
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopstep", "demo", "--epochs", "100000"],
        stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    try:
        seen, deadline = b"", time.monotonic() + 60
        while b"paused" not in seen and time.monotonic() < deadline:
            if select.select([master], [], [], 1)[0]:
                seen += os.read(master, 1 << 16)
        assert b"paused" in seen
        os.write(master, b"c")  # running freely: the training thread never waits for a key
        time.sleep(1)
        os.close(master)
        proc.wait(timeout=20)
        assert proc.returncode == 128 + 1  # ended as a hangup would end it
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
