"""A listening run nobody is attached to sleeps (its hooks off, the bare loop's speed); an
attach wakes it, and the phase it wakes to has the numbers an awake run would have given:
checked against the script's own log, in four shapes of real training loops."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from loopstep.engine.remote_protocol import PROTOCOL, encode

from .test_listen_attach import PATIENCE_S, loopstep, runs_listed, wait_until

SCRIPT = str(Path(__file__).parents[1] / "scripts" / "counted_loop.py")


def log_lines(log: Path) -> list[tuple[int, int, int]]:
    text = log.read_text() if log.exists() else ""
    return [tuple(map(int, line.split())) for line in text.splitlines() if line.count(" ") == 2]


class Client:
    def __init__(self, path: Path) -> None:
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.socket.connect(str(path))
        self.lines = self.socket.makefile("rb")
        self.send("hello", protocol=PROTOCOL)
        assert self.receive()["type"] == "hello"

    def send(self, kind: str, **fields) -> None:
        self.socket.sendall(encode(kind, **fields))

    def receive(self) -> dict:
        return json.loads(self.lines.readline())

    def close(self) -> None:
        self.lines.close()
        self.socket.close()


def updates_seen(client: Client, first: dict, phases: int) -> list[dict]:
    """Step ``phases`` phases from the pause ``first``: the records of the updates among them."""
    records = [first["record"]]
    for _ in range(phases):
        client.send("command", command="step", n=1)
        records.append(client.receive()["record"])
    return [r for r in records if r["phase"] in ("step", "zero_grad", "update")]


@pytest.mark.parametrize("shape", ["loader", "accumulate", "indexed", "by-hand"])
def test_an_attach_wakes_a_sleeping_run_at_the_numbers_an_awake_run_gives(runs_home, tmp_path, shape):
    log = tmp_path / "log"
    run = loopstep("run", "--listen", SCRIPT, shape, str(log))
    try:
        assert "listening on" in run.stderr.readline()
        pid = run.pid
        path = runs_home / "loopstep" / f"{pid}.sock"
        seen: list[dict] = []
        for epochs in (3, 6):  # asleep across epochs, awake, asleep again, awake again
            wait_until(lambda e=epochs: (lines := log_lines(log)) and lines[-1][0] >= e, f"epoch {epochs}")
            client = Client(path)
            pause = client.receive()
            assert pause["type"] == "pause" and pause["reason"] == "paused"
            seen += updates_seen(client, pause, 12)
            client.send("detach")
            client.close()
        # The script logs an update only once it is over (after zero_grad): an end that came
        # before it got there would leave the last update seen unlogged, truly. Let it log it.
        last = max(r["iteration"] + 1 for r in seen)
        wait_until(lambda: (lines := log_lines(log)) and lines[-1][2] >= last, "the last update seen logged")
        client = Client(path)
        client.send("end")
        run.communicate(timeout=PATIENCE_S)
        client.close()
        assert run.returncode == 0
        written = set(log_lines(log))
        # Awake, an update after the script logged (epoch, index, steps) is reported as
        # epoch, batch index, iteration steps - 1 (tests/run shows the awake numbers).
        assert len(seen) >= 4
        for record in seen:
            position = (record["epoch"], record["batch"], record["iteration"] + 1)
            assert position in written, (record["phase"], position, sorted(written)[-3:])
        assert min(r["epoch"] for r in seen) >= 3
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()


def test_an_attach_while_another_front_end_detaches_gets_the_run(runs_home, tmp_path):
    """The second attach arrives before the first one's detach is read (a script that
    attaches again right after `d`): it waits for the first to be gone, not refused."""
    log = tmp_path / "log"
    run = loopstep("run", "--listen", SCRIPT, "loader", str(log))
    try:
        assert "listening on" in run.stderr.readline()
        path = runs_home / "loopstep" / f"{run.pid}.sock"
        first = Client(path)
        assert first.receive()["type"] == "pause"
        second: list[dict] = []
        hello = threading.Thread(target=lambda: second.append(hello_of(path)))
        hello.start()
        time.sleep(0.3)  # the second hello is in, and waits on the first front end
        assert not second
        first.send("detach")
        first.close()
        hello.join(timeout=PATIENCE_S)
        assert second and second[0]["type"] == "hello", second
    finally:
        run.kill()
        run.communicate()


def hello_of(path: Path) -> dict:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    sock.sendall(encode("hello", protocol=PROTOCOL))
    with sock, sock.makefile("rb") as lines:
        return json.loads(lines.readline())


def test_an_awake_run_gives_the_numbers_the_sleeping_one_is_checked_against(tmp_path):
    """The mapping the test above relies on, from a run that never sleeps."""
    for shape in ("loader", "accumulate", "indexed", "by-hand"):
        log = tmp_path / f"{shape}.log"
        done = subprocess.run(
            [sys.executable, "-m", "loopstep", "run", "--no-tui", "--format", "jsonl", SCRIPT, shape,
             str(log), "--steps", "30"],
            capture_output=True, text=True, timeout=PATIENCE_S,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        records = [json.loads(line) for line in done.stdout.splitlines()]
        updates = [r for r in records if r["phase"] in ("step", "update")]
        lines = log_lines(log)
        assert len(updates) == len(lines) == 30
        assert [(r["epoch"], r["batch"], r["iteration"] + 1) for r in updates] == lines


def test_sigterm_ends_a_sleeping_run_cleanly(runs_home, tmp_path):
    log = tmp_path / "log"
    run = loopstep("run", "--listen", SCRIPT, "loader", str(log))
    assert "listening on" in run.stderr.readline()
    wait_until(lambda: len(log_lines(log)) > 50, "the run to go on asleep")
    assert runs_listed()[0]["state"] == "running"
    run.send_signal(signal.SIGTERM)
    run.communicate(timeout=PATIENCE_S)
    assert run.returncode == 128 + signal.SIGTERM
    assert log_lines(log)[-1][2] < 100_000  # ended at once, not after the whole run
    assert not list((runs_home / "loopstep").iterdir())


@pytest.mark.parametrize(
    ("planted", "awake_phase", "asleep_phase"),
    [("input", "forward", "loss"), ("grad", "backward", "backward"), ("lr", "step", "step")],
)
def test_a_nan_wakes_a_sleeping_run_in_the_iteration_an_awake_run_stops_in(
    runs_home, tmp_path, planted, awake_phase, asleep_phase
):
    """Asleep, a ``nan`` condition looks at the loss, grads and parameters only: it stops in
    the same iteration, at the phase where the NaN first shows in them (awake, the module
    hooks see a NaN input at the forward already)."""
    args = [SCRIPT, "loader", str(tmp_path / "log"), "--nan-at", "40", "--nan-in", planted]
    # A condition that needs every phase keeps the stream awake (alone, `nan` lets it sleep).
    awake_conditions = ["--break", "nan", "--break", "iteration=100000"]
    awake = subprocess.run(
        [sys.executable, "-m", "loopstep", "run", "--no-tui", "--format", "jsonl", *awake_conditions, *args],
        capture_output=True, text=True, timeout=PATIENCE_S,
    )  # fmt: skip
    [stop] = [r for r in map(json.loads, awake.stdout.splitlines()) if "reason" in r]
    assert stop["phase"] == awake_phase and (stop["epoch"], stop["iteration"]) == (3, 39)
    run = loopstep("run", "--listen", "--break", "nan", *args)
    try:
        assert "listening on" in run.stderr.readline()
        waiting = run.stderr.readline()
        assert f"paused at {asleep_phase} iter 39: waiting" in waiting, waiting
        attach = subprocess.run(
            [sys.executable, "-m", "loopstep", "attach", "--no-tui", "--format", "jsonl", "--iterations", "1"],
            capture_output=True, text=True, timeout=PATIENCE_S,
        )  # fmt: skip
        first = json.loads(attach.stdout.splitlines()[0])
        assert (first["phase"], first["epoch"], first["batch"], first["iteration"]) == (
            asleep_phase,
            stop["epoch"],
            stop["batch"],
            stop["iteration"],
        )
        assert "NaN" in first["reason"] or "nan" in first["reason"], first["reason"]
        if planted != "input":
            assert first["reason"] == stop["reason"]  # seen where an awake run sees it, said alike
    finally:
        run.send_signal(signal.SIGTERM)
        run.communicate(timeout=PATIENCE_S)
