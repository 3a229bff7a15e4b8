"""loopstep serve: a server on loopback answers one HTTP GET, then is stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest
from tests.ports import free_port

from loopstep.commands.serve import served_command
from loopstep.frontend.addresses import is_loopback

pytest.importorskip("textual_serve")

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "src"))


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


def test_serve_attach_puts_a_listening_run_in_the_browser(tmp_path, monkeypatch):
    """A browser's keys step the run (s), and d detaches: the run ends as a plain one."""
    aiohttp = pytest.importorskip("aiohttp")
    import asyncio

    from tests.remote.test_listen_attach import listening, plain_final_line, runs_listed, wait_until

    home = tmp_path / "runtime"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(home))
    run, pid = listening()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "loopstep", "serve", "--port", str(port), "attach", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def state() -> str:
        listed = runs_listed()
        return listed[0]["state"] if listed else ""

    async def browse() -> None:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 60
            while True:  # the server is up when its websocket answers
                try:
                    ws = await session.ws_connect(f"http://127.0.0.1:{port}/ws?width=100&height=30")
                    break
                except aiohttp.ClientError:
                    assert time.monotonic() < deadline and server.poll() is None, "serve did not come up"
                    await asyncio.sleep(0.2)
            screen = b""
            while b"forward" not in screen:  # the app's first screen: the pause at forward
                message = await ws.receive(timeout=60)
                assert message.type == aiohttp.WSMsgType.BINARY, message
                screen += message.data
            await ws.send_json(["stdin", "s"])
            await asyncio.to_thread(wait_until, lambda: state() == "paused at loss iter 1", "s to step")
            await ws.send_json(["stdin", "d"])
            await asyncio.to_thread(wait_until, lambda: run.poll() is not None, "d to detach")
            await ws.close()

    try:
        asyncio.run(browse())
        out, err = run.communicate(timeout=60)
        assert run.returncode == 0, err
        assert out.strip() == plain_final_line()
    finally:
        server.terminate()
        server.wait(timeout=10)
        if run.poll() is None:
            run.kill()
            run.communicate()


def test_serve_attach_checks_the_run_before_serving(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.delenv("LOOPSTEP_TOKEN", raising=False)
    for args, message in (
        (["99999999"], "no listening run with pid 99999999"),
        (["tcp:127.0.0.1:1"], "needs the run's token"),
        (["--no-tui", "1"], "drop --no-tui"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "loopstep", "serve", "attach", *args], capture_output=True, text=True
        )
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
