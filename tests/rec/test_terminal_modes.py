"""The terminal under every run mode: a killed terminal ends the process within seconds,
and the app draws on the terminal whatever the script's streams are redirected to."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
LONG_SCRIPT = """
import torch
model = torch.nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=1e-3)
x, y = torch.randn(16, 4), torch.randn(16, 1)
for step in range(10_000_000):
    loss = (model(x) - y).pow(2).mean()
    loss.backward()
    opt.step()
    opt.zero_grad()
    if step % 2000 == 0:
        print("step", step, flush=True)
"""
#: A bound on waiting for the screen (never a speed check).
PATIENCE_S = 60


def tmux(socket: str, *args: str) -> str:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=10).stdout


def wait_screen(socket: str, needle: str) -> str:
    deadline = time.monotonic() + PATIENCE_S
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux(socket, "capture-pane", "-p")
        if needle in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} never appeared; the screen was:\n{screen}")


@pytest.fixture(scope="module")
def long_script(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scripts") / "long_train.py"
    path.write_text(LONG_SCRIPT)
    return path


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("recordings") / "linreg.lsr"
    env = dict(os.environ, PYTHONPATH=str(SRC))
    argv = [sys.executable, "-m", "loopstep", "trace", "--epochs", "3", "--record", str(path)]
    subprocess.run(argv, check=True, capture_output=True, env=env, timeout=120)
    return path


# (argv after `python -m loopstep`, what the screen shows once it runs, keys to press then)
MODES = {
    "demo app, continuing": (["demo", "--epochs", "100000"], "paused", "c"),
    "run script app, continuing": (["run", "{script}"], "paused", "c"),
    "run script app, paused": (["run", "{script}"], "paused", ""),
    "trace text stream": (["trace", "--epochs", "100000"], "forward", ""),
    "run script text, continue": (["run", "--no-tui", "--continue", "{script}"], "step 0", ""),
    "replay app, at its end": (["replay", "{recording}"], "paused", "c"),
}


@pytest.mark.parametrize("mode", list(MODES), ids=list(MODES))
def test_a_killed_terminal_ends_the_process_within_seconds(tmp_path, long_script, recording, mode):
    argv, running, keys = MODES[mode]
    marker = f"loopstep-lost-{os.getpid()}-{abs(hash(mode)) % 10**6}"
    argv = [a.format(script=long_script, recording=recording) for a in argv]
    # The marker rides in the environment: _ours finds this test's processes and no other.
    command = (
        f"cd {shlex.quote(str(tmp_path))} && env LOOPSTEP_MARK={marker} PYTHONPATH={shlex.quote(str(SRC))} "
        f"{shlex.quote(sys.executable)} -m loopstep {shlex.join(argv)}"
    )
    socket = f"lost-{os.getpid()}-{abs(hash(mode)) % 10**6}"
    tmux(socket, "new-session", "-d", "-x", "100", "-y", "30", f"sh -c {shlex.quote(command)}")
    try:
        wait_screen(socket, running)
        if keys:
            tmux(socket, "send-keys", keys)
            time.sleep(1.0)
        assert _ours(marker), f"{mode}: the run is not going"
    finally:
        tmux(socket, "kill-server")
    deadline = time.monotonic() + 15
    ours = _ours(marker)
    while ours and time.monotonic() < deadline:
        time.sleep(0.2)
        ours = _ours(marker)
    for pid in ours:
        os.kill(pid, 9)
    assert not ours, f"{mode}: still running {len(ours)} process(es) 15 s after the terminal went away"


def _ours(marker: str) -> list[int]:
    """loopstep processes started by this test (their environment carries the marker)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                if f"LOOPSTEP_MARK={marker}".encode() in handle.read():
                    with open(f"/proc/{entry}/cmdline", "rb") as cmd:
                        if b"loopstep" in cmd.read():
                            found.append(int(entry))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("redirect", ["2>log.txt", ">log.txt"])
def test_the_app_draws_on_the_terminal_when_a_stream_is_redirected(tmp_path, long_script, redirect):
    socket = f"redirect-{os.getpid()}-{len(redirect)}"
    status = tmp_path / "status"
    command = (
        f"cd {shlex.quote(str(tmp_path))} && PYTHONPATH={shlex.quote(str(SRC))} "
        f"{shlex.quote(sys.executable)} -m loopstep run {shlex.quote(str(long_script))} {redirect}; "
        f"echo $? > {status}; sleep 30"
    )
    tmux(socket, "new-session", "-d", "-x", "100", "-y", "30", f"sh -c {shlex.quote(command)}")
    try:
        screen = wait_screen(socket, "paused")
        assert "forward" in screen and "zero_grad" in screen  # the phase bar is on the terminal
        tmux(socket, "send-keys", "n", "n")  # past the script's first print
        wait_screen(socket, "iter 1")
        tmux(socket, "send-keys", "q")
        deadline = time.monotonic() + PATIENCE_S
        while not (status.exists() and status.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status.read_text().strip() == "0"
    finally:
        tmux(socket, "kill-server")
    log = (tmp_path / "log.txt").read_text(errors="replace")
    assert "\x1b[" not in log, "the app drew into the redirected stream"
    if redirect == ">log.txt":  # what the script printed for stdout went to its file
        assert "step 0" in log
