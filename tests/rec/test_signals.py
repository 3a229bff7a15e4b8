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


def holders(path: str) -> list[int]:
    """Processes that have ``path`` open (the writer process outlives a killed run)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{entry}/fd/{fd}") == path:
                    found.append(int(entry))
                    break
            except OSError:
                continue
    return found


def test_sigkill_leaves_a_replayable_prefix(tmp_path):
    path = str(tmp_path / "killed.lsr")
    process = start_recording_run(path)
    wait_for_frames(path, process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    # The writer process goes on writing the frames it was handed, then exits: the file is
    # read once it is done, or the two reads below would see different lengths.
    deadline = time.monotonic() + 20
    while holders(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not holders(path), "the writer process did not finish"
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


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_restore_terminal_gives_back_the_saved_modes_and_leaves_the_app_screen():
    termios = pytest.importorskip("termios")
    import tty

    from loopstep.frontend.terminal import LEAVE_APP_MODE, restore_terminal

    leader, follower = os.openpty()
    try:
        saved = termios.tcgetattr(follower)
        assert saved[3] & termios.ICANON
        tty.setraw(follower)  # what the app does to the terminal
        assert not termios.tcgetattr(follower)[3] & termios.ICANON
        restore_terminal((follower, saved, follower))
        assert termios.tcgetattr(follower)[3] & termios.ICANON
        assert termios.tcgetattr(follower)[3] & termios.ECHO
        written = os.read(leader, 4096).decode()
        assert written.endswith("\x1b[?1049l\x1b[?25h")  # main screen, cursor shown
        assert written == LEAVE_APP_MODE
    finally:
        os.close(leader)
        os.close(follower)


def test_the_app_is_asked_to_exit_rather_than_interrupted(monkeypatch):
    """In the app, the handler hands the exit to the app (which then restores the terminal)
    instead of raising at whatever line the main thread was on."""
    from loopstep.frontend import signals

    forced = []
    monkeypatch.setattr(signals, "_exit_later", lambda status, terminal, ended: forced.append(status))
    asked = []
    before = signal.getsignal(signal.SIGTERM)
    with signals.ending_on_hangup(asked.append) as received:
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 5
        while not asked and time.monotonic() < deadline:
            time.sleep(0.01)
    assert asked == [128 + signal.SIGTERM] and received == [signal.SIGTERM]
    assert forced == [128 + signal.SIGTERM]  # the backstop, should the app not get out
    assert signal.getsignal(signal.SIGTERM) is before  # the previous handler is back


def test_restore_terminal_on_a_terminal_that_is_gone_does_not_raise():
    """The last-resort exit restores the terminal first; a terminal that is gone (termios
    says ENOTTY or EIO) must not stop that thread from ending the process."""
    termios = pytest.importorskip("termios")
    from loopstep.frontend.terminal import restore_terminal

    leader, follower = os.openpty()
    modes = termios.tcgetattr(follower)
    os.close(leader)
    os.close(follower)
    read_end, write_end = os.pipe()
    try:
        restore_terminal((read_end, modes, write_end))  # a pipe is no terminal: termios.error
    finally:
        os.close(read_end)
        os.close(write_end)


@pytest.mark.parametrize("returns_to_caller", [True, False])
def test_the_last_resort_exit_is_called_off_when_the_caller_goes_on(monkeypatch, returns_to_caller):
    """loopstep.debug() returns to the user's code (which may save a checkpoint after a
    SIGTERM): the last-resort exit must not end it. A command exits anyway: it stays armed."""
    from loopstep.frontend import signals

    exits = []
    monkeypatch.setattr(signals, "EXIT_GRACE_S", 0.2)
    monkeypatch.setattr(signals.os, "_exit", exits.append)
    asked = []
    # app_terminal=False: the backstop leaves the test's own terminal be
    with signals.ending_on_hangup(asked.append, returns_to_caller=returns_to_caller):
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 5
        while not asked and time.monotonic() < deadline:
            time.sleep(0.01)
    time.sleep(0.6)  # past the grace period
    assert asked == [128 + signal.SIGTERM]
    assert exits == ([] if returns_to_caller else [128 + signal.SIGTERM])
