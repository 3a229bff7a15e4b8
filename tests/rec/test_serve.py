"""loopstep serve: a server on loopback answers one HTTP GET, then is stopped."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from loopstep.commands.serve import is_loopback, served_command

pytest.importorskip("textual_serve")

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "src"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_on_loopback_and_stops():
    port = free_port()
    env = dict(os.environ, PYTHONPATH=SRC)
    process = subprocess.Popen(
        [sys.executable, "-m", "loopstep", "serve", "--port", str(port), "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        body = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and body is None:
            assert process.poll() is None, process.stderr.read().decode()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    assert response.status == 200
                    body = response.read().decode()
            except OSError:
                time.sleep(0.2)
        assert body is not None, "the server did not answer within 60 s"
        assert "loopstep" in body
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    err = process.stderr.read().decode()
    assert f"serving demo at http://127.0.0.1:{port}" in err
    assert "warning" not in err


def test_only_loopback_goes_without_a_warning():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("example.org")


def test_the_served_command_reruns_this_loopstep():
    command = served_command(["replay", "my run.lsr"])
    assert command.startswith(sys.executable) or sys.executable in command
    assert command.endswith("-m loopstep replay 'my run.lsr'")
    assert served_command([]).endswith("-m loopstep demo")


def test_a_public_host_is_served_with_a_warning(monkeypatch, capsys):
    import textual_serve.server

    started = []

    class FakeServer:
        def __init__(self, command, host, port, title):
            started.append((command, host, port))

        def serve(self):
            pass

    monkeypatch.setattr(textual_serve.server, "Server", FakeServer)
    from loopstep.cli import main

    assert main(["serve", "--host", "0.0.0.0", "--port", "8123", "demo", "mlp"]) == 0
    err = capsys.readouterr().err
    assert "warning: serving on 0.0.0.0, not loopback" in err
    assert started and started[0][1:] == ("0.0.0.0", 8123) and started[0][0].endswith("demo mlp")
