"""loopstep run --listen and loopstep attach: a run that goes on without a front end, one
that attaches, steps it and detaches, and one that goes away without a word."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from loopstep.engine.remote_protocol import PROTOCOL, encode

SCRIPT = str(Path(__file__).parents[1] / "scripts" / "long_loop.py")
#: A bound on how long the test waits for the run to get somewhere (never asserted on).
PATIENCE_S = 60


def loopstep(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "loopstep", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def listening(*args: str) -> tuple[subprocess.Popen, int]:
    """Start a listening run that waits at iteration 1 (a stop condition, nobody attached)."""
    run = loopstep("run", "--listen", "--break", "iteration=1", *args, SCRIPT, "--steps", "300")
    line = run.stderr.readline()
    assert "listening on" in line, line + run.stderr.read()
    pid = int(line.split("(pid ")[1].split(")")[0])
    waiting = run.stderr.readline()
    assert "waiting for loopstep attach" in waiting, waiting
    return run, pid


def runs_listed() -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-m", "loopstep", "ls", "--format", "jsonl"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def wait_until(condition, what: str):
    deadline = time.monotonic() + PATIENCE_S
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def plain_final_line() -> str:
    done = subprocess.run([sys.executable, SCRIPT, "--steps", "300"], capture_output=True, text=True)
    return done.stdout.strip()


def test_attach_streams_three_iterations_detaches_and_the_run_ends_as_a_plain_one(runs_home):
    run, pid = listening()
    [listed] = runs_listed()
    assert listed["pid"] == pid and "waiting for an attach" in listed["state"] and not listed["attached"]
    attach = subprocess.run(
        [sys.executable, "-m", "loopstep", "attach", str(pid), "--no-tui", "--format", "jsonl", "--iterations", "3"],
        capture_output=True, text=True, timeout=PATIENCE_S,
    )  # fmt: skip
    assert attach.returncode == 0, attach.stderr
    records = [json.loads(line) for line in attach.stdout.splitlines()]
    assert [r["iteration"] for r in records] == [1] * 5 + [2] * 5 + [3] * 5
    assert [r["phase"] for r in records[:5]] == ["forward", "loss", "backward", "step", "zero_grad"]
    assert records[0]["reason"] == "break: iteration=1"
    assert all(r["loss"] > 0 for r in records if r["phase"] == "step")
    out, err = run.communicate(timeout=PATIENCE_S)
    assert run.returncode == 0, err
    assert out.strip() == plain_final_line()  # the same seed, the same end: attaching changed nothing
    assert runs_listed() == []


def test_a_client_that_goes_away_leaves_the_run_paused_for_the_next_attach(runs_home):
    run, pid = listening()
    try:
        first = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        first.connect(str(runs_home / "loopstep" / f"{pid}.sock"))
        first.sendall(encode("hello", protocol=PROTOCOL))
        lines = first.makefile("rb")
        assert json.loads(lines.readline())["type"] == "hello"
        pause = json.loads(lines.readline())
        assert pause["type"] == "pause" and pause["record"]["phase"] == "forward"
        first.sendall(encode("command", command="step", n=1))
        moved = json.loads(lines.readline())
        assert moved["record"]["phase"] == "loss"
        lines.close()
        first.close()  # no detach: a dropped SSH session
        listed = wait_until(lambda: [r for r in runs_listed() if not r["attached"]], "the drop to be seen")
        assert listed[0]["state"] == "paused at loss iter 1"
        attach = subprocess.run(
            [sys.executable, "-m", "loopstep", "attach", "--no-tui", "--format", "jsonl", "--iterations", "1"],
            capture_output=True, text=True, timeout=PATIENCE_S,
        )  # fmt: skip
        assert attach.returncode == 0, attach.stderr
        records = [json.loads(line) for line in attach.stdout.splitlines()]
        assert (records[0]["phase"], records[0]["iteration"]) == ("loss", 1)  # exactly where it was left
        assert records[0]["loss"] == moved["record"]["loss"]
        out, _ = run.communicate(timeout=PATIENCE_S)
        assert run.returncode == 0 and out.strip() == plain_final_line()
    finally:
        if run.poll() is None:
            run.kill()


def test_another_protocol_version_is_one_line_and_exit_2(runs_home, monkeypatch, capsys):
    from loopstep.frontend import attach

    run, pid = listening()
    try:
        monkeypatch.setattr(attach, "PROTOCOL", PROTOCOL + 1)
        status = attach.stream_attached(pid)
        err = capsys.readouterr().err
        assert status == 2 and err.count("\n") == 1
        assert f"speaks loopstep protocol {PROTOCOL + 1}" in err
    finally:
        run.send_signal(signal.SIGTERM)
        run.communicate(timeout=PATIENCE_S)


@pytest.mark.skipif(os.getuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_another_user_is_refused(monkeypatch):
    runs_home = Path(tempfile.mkdtemp())  # not under pytest's own 0700 folder: nobody can reach /tmp
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runs_home))
    run, pid = listening()
    path = runs_home / "loopstep" / f"{pid}.sock"
    probe = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n    s.connect(sys.argv[1])\nexcept OSError as e:\n    print('refused', e.errno); sys.exit()\n"
        "s.sendall(sys.argv[2].encode())\n"
        "print(s.makefile().readline().strip())\n"
    )
    as_nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        sys.executable,
        "-c",
        probe,
        str(path),
        encode("hello", protocol=PROTOCOL).decode(),
    ]
    try:
        closed = subprocess.run(as_nobody, capture_output=True, text=True, timeout=PATIENCE_S)
        assert closed.stdout.startswith("refused"), closed  # the runs directory is 0700: not even reachable
        # Opened up by hand, the run itself still checks who connects (SO_PEERCRED).
        os.chmod(runs_home, 0o755)
        os.chmod(path.parent, 0o755)
        os.chmod(path, 0o777)
        opened = subprocess.run(as_nobody, capture_output=True, text=True, timeout=PATIENCE_S)
        assert json.loads(opened.stdout) == {"type": "error", "message": "this run belongs to another user"}
    finally:
        run.send_signal(signal.SIGTERM)
        run.communicate(timeout=PATIENCE_S)
        shutil.rmtree(runs_home, ignore_errors=True)


def test_sigterm_ends_a_waiting_run_cleanly(runs_home, tmp_path):
    record = tmp_path / "run.lsr"
    run, pid = listening("--record", str(record))
    run.send_signal(signal.SIGTERM)
    out, err = run.communicate(timeout=PATIENCE_S)
    assert run.returncode == 128 + signal.SIGTERM, err
    assert out.startswith("final loss ") and "after 2 steps" in out  # its finally block ran
    assert not list((runs_home / "loopstep").iterdir())  # socket and state file gone
    from loopstep.engine.recording import read_recording

    assert read_recording(str(record)).end["reason"] == "signal 15"


def test_listen_options_that_do_not_go_together_are_one_line_and_exit_2():
    for args in (["--listen", "--no-tui"], ["--listen", "--on-stop", "stop"], ["--on-stop", "wait"]):
        done = subprocess.run(
            [sys.executable, "-m", "loopstep", "run", *args, SCRIPT], capture_output=True, text=True
        )
        assert done.returncode == 2 and done.stderr.count("\n") == 1, (args, done.stderr)


def test_the_protocol_evaluates_sets_watches_and_settings(runs_home):
    run, pid = listening()
    try:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(str(runs_home / "loopstep" / f"{pid}.sock"))
        lines = client.makefile("rb")

        def send(kind, **fields):
            client.sendall(encode(kind, **fields))

        def receive():
            return json.loads(lines.readline())

        send("hello", protocol=PROTOCOL)
        assert receive()["type"] == "hello"
        pause = receive()
        send("evaluate", id=7, text="model[0].weight.shape")
        answer = receive()
        assert answer == {
            "type": "answer",
            "id": 7,
            "value": "torch.Size([16, 4])",
            "line": "torch.Size([16, 4])",
        }
        send("evaluate", id=8, text="opt.step()")
        assert "allow statements" in receive()["value"]["error"]  # read-only over the socket too
        send("watches", expressions=["step * 2"])
        send("settings", zero_grad=False)
        seen = []
        for _ in range(5):  # forward (paused here) → loss → backward → step → zero_grad
            send("command", command="step", n=1)
            seen.append(receive())
        assert [m["record"]["phase"] for m in seen] == ["loss", "backward", "step", "zero_grad", "forward"]
        assert all(m["watch"] == {"step * 2": 2} for m in seen[:4])
        zero_grad = seen[3]["record"]
        assert zero_grad["skipped"] and zero_grad["zero_grad"] is False
        assert pause["record"]["iteration"] == 1 and seen[4]["record"]["iteration"] == 2
        send("end")
        out, _ = run.communicate(timeout=PATIENCE_S)
        assert "after 3 steps" in out
        lines.close()
        client.close()
    finally:
        if run.poll() is None:
            run.kill()
