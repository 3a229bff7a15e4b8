"""``--listen tcp:HOST:PORT``: the run is also reachable over TCP, by a client with the token
it printed once; without it, or with another, nothing is stepped or evaluated."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys

from loopstep.engine.remote_protocol import PROTOCOL, encode

from .test_listen_attach import PATIENCE_S, SCRIPT, loopstep, plain_final_line, runs_listed


def listening_on_tcp() -> tuple[subprocess.Popen, str, str]:
    run = loopstep("run", "--listen", "tcp:127.0.0.1:0", "--break", "iteration=1", SCRIPT, "--steps", "300")
    lines = [run.stderr.readline() for _ in range(3)]
    assert "waiting for loopstep attach" in lines[2], lines
    found = re.search(r"loopstep attach (tcp:127\.0\.0\.1:\d+) --token (\S+)", lines[1])
    assert found, lines
    return run, found.group(1), found.group(2)


def assert_ends_as_a_plain_run(run: subprocess.Popen) -> None:
    out, err = run.communicate(timeout=PATIENCE_S)
    assert run.returncode == 0, err
    assert out.strip() == plain_final_line()  # the same seed, the same end: attaching changed nothing


def stop(run: subprocess.Popen) -> None:
    if run.poll() is None:
        run.kill()
        run.communicate()


def attach(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "loopstep", "attach", *args],
        capture_output=True, text=True, timeout=PATIENCE_S, env=env,
    )  # fmt: skip


def test_only_the_token_the_run_printed_attaches_over_tcp(runs_home):
    run, address, token = listening_on_tcp()
    try:
        [listed] = runs_listed()
        assert listed["tcp"] == address
        state = (runs_home / "loopstep" / f"{run.pid}.json").read_text()
        assert token not in state  # printed once, kept nowhere
        for args in ([], ["--token", "not-" + token]):
            refused = attach(address, "--no-tui", *args)
            assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused
        env = dict(os.environ, LOOPSTEP_TOKEN=token)
        streamed = attach(address, "--no-tui", "--format", "jsonl", "--iterations", "2", env=env)
        assert streamed.returncode == 0, streamed.stderr
        records = [json.loads(line) for line in streamed.stdout.splitlines()]
        assert [r["iteration"] for r in records] == [1] * 5 + [2] * 5
        assert_ends_as_a_plain_run(run)
    finally:
        stop(run)


def test_a_wrong_token_is_refused_before_anything_is_read(runs_home):
    run, address, token = listening_on_tcp()
    try:
        host, port = address.removeprefix("tcp:").rsplit(":", 1)
        client = socket.create_connection((host, int(port)), timeout=PATIENCE_S)
        lines = client.makefile("rb")
        hello = encode("hello", protocol=PROTOCOL, token=token[::-1])
        client.sendall(hello + encode("evaluate", id=1, text="1 + 1") + encode("command", command="run", n=5))
        assert json.loads(lines.readline()) == {
            "type": "error",
            "message": "wrong token (the run printed it when it started)",
        }
        assert lines.readline() == b""  # closed: the evaluate and the command were never read
        [listed] = runs_listed()
        assert not listed["attached"] and "waiting for an attach" in listed["state"]
        lines.close()
        client.close()
    finally:
        run.kill()
        run.communicate()


def test_a_script_that_calls_listen_becomes_a_listening_run_in_the_same_process(runs_home):
    script = os.path.join(os.path.dirname(SCRIPT), "calls_listen.py")
    run = subprocess.Popen(
        [sys.executable, script, "--steps", "300"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        lines = [run.stderr.readline() for _ in range(4)]
        assert f"(pid {run.pid})" in lines[1]  # exec: the launcher's process, still
        assert lines[0] == lines[2] == "before listen\n"  # the top of the script ran again, under loopstep
        assert "waiting for loopstep attach" in lines[3]
        streamed = attach(str(run.pid), "--no-tui", "--format", "jsonl", "--iterations", "1")
        assert streamed.returncode == 0, streamed.stderr
        assert [json.loads(line)["iteration"] for line in streamed.stdout.splitlines()] == [1] * 5
        assert_ends_as_a_plain_run(run)
    finally:
        stop(run)


def test_listen_with_bad_arguments_raises_before_it_restarts_anything():
    import pytest

    import loopstep

    for kwargs, message in (
        ({"on_stop": "stop"}, "on_stop must be"),
        ({"address": "tcp:nope"}, "expected tcp:HOST:PORT"),
        ({"address": "tcp:0.0.0.0:0"}, "non_loopback=True"),
        ({"breaks": ["bogus"]}, "bogus"),
        ({}, "for `python -m`"),  # pytest runs as python -m pytest: no file to start again
    ):
        with pytest.raises(ValueError, match=message):
            loopstep.listen(**kwargs)
