"""``loopstep attach``: the front end of a run that listens (``loopstep run --listen``).

Text mode streams the live phases as ``loopstep run --no-tui`` prints them, for
``--iterations N`` iterations (or to the end of the run), then detaches: the run carries on.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

from ..engine.remote_protocol import (
    MAX_LINE,
    PROTOCOL,
    RUN_MESSAGES,
    STEPPING_REASONS,
    ProtocolError,
    check_hello,
    decode,
    encode,
)
from ..engine.text_format import text_header
from .addresses import TcpAddress, connect
from .exits import EXIT_OK, EXIT_USAGE
from .runs import RunState, list_runs


class AttachError(Exception):
    """Nothing to attach to, or the run refused: one line, exit status 2."""


#: Where a TCP client finds the run's token when --token is not given (kept out of `ps`).
TOKEN_VARIABLE = "LOOPSTEP_TOKEN"


def choose_run(
    pid: int | TcpAddress | None, pick: Callable[[list[RunState]], RunState] | None = None
) -> RunState | TcpAddress:
    """The run with this pid, or the only one there is, or a TCP address as given; several:
    the one ``pick`` chooses, else AttachError naming the choices."""
    if isinstance(pid, TcpAddress):
        return pid
    runs = list_runs()
    if pid is not None:
        for run in runs:
            if run.pid == pid:
                return run
        raise AttachError(f"loopstep attach: no listening run with pid {pid} (loopstep ls lists them)")
    if not runs:
        raise AttachError("loopstep attach: no listening run (start one with loopstep run --listen SCRIPT)")
    if len(runs) > 1 and pick is not None:
        return pick(runs)
    if len(runs) > 1:
        listed = "; ".join(f"{r.pid} {r.script}" for r in runs)
        raise AttachError(f"loopstep attach: {len(runs)} runs listen, name one: {listed}")
    return runs[0]


class Connection:
    """One attach: the socket, the hello both ways, then messages line by line."""

    def __init__(
        self,
        target: RunState | TcpAddress,
        *,
        token: str | None = None,
        no_pause: bool = False,
        tui: dict | None = None,
        snapshots: bool = False,
    ) -> None:
        tcp = isinstance(target, TcpAddress)
        self.label = str(target) if tcp else f"run {target.pid}"
        fields: dict = {"no_pause": no_pause, **({"tui": True, **tui} if tui else {})}
        if snapshots:  # rank 0 of a job: each pause's whole snapshot (frontend/snapshot_wire.py)
            fields["snapshots"] = True
        if tcp:
            token = token or os.environ.get(TOKEN_VARIABLE)
            if not token:
                raise AttachError(
                    f"loopstep attach: {target} needs the run's token (--token, or {TOKEN_VARIABLE})"
                )
            fields["token"] = token
        try:
            self.socket = connect(target if tcp else target.socket)
        except OSError as exc:
            raise AttachError(f"loopstep attach: cannot reach {self.label}: {exc.strerror or exc}") from None
        # Unbuffered for the app: what follows the hello are the screen's bytes, read off the socket.
        self._lines = self.socket.makefile("rb", buffering=0 if tui else -1)
        try:
            self.send("hello", protocol=PROTOCOL, **fields)
        except OSError:
            pass  # the run may have refused and closed already: its answer is still to be read
        first = self.receive()
        if first is None:
            raise AttachError(f"loopstep attach: {self.label} closed the connection")
        if first["type"] == "error":
            raise AttachError(f"loopstep attach: {first.get('message')}")
        try:
            check_hello(first, self.label)
        except ProtocolError as exc:
            raise AttachError(f"loopstep attach: {exc}") from None
        self.hello = first
        self.pid = int(first.get("pid") or 0)

    def send(self, kind: str, **fields) -> None:
        self.socket.sendall(encode(kind, **fields))

    def receive(self) -> dict | None:
        try:
            line = self._lines.readline(MAX_LINE)
        except OSError:
            return None  # reset by the run: it has gone
        if not line:
            return None
        try:
            return decode(line, RUN_MESSAGES)
        except ProtocolError as exc:
            raise AttachError(f"loopstep attach: {exc}") from None

    def messages(self) -> Iterator[dict]:
        while (message := self.receive()) is not None:
            yield message

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.socket.close()


def stream_attached(
    pid: int | TcpAddress | None,
    *,
    fmt: str = "text",
    iterations: int | None = None,
    out: TextIO | None = None,
    token: str | None = None,
) -> int:
    """Print the run's phases as they come, stepping it one phase at a time, then detach."""
    out = out or sys.stdout
    try:
        connection = Connection(choose_run(pid), token=token)
    except AttachError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_USAGE
    first_iteration: int | None = None
    header = False
    try:
        for message in connection.messages():
            kind = message["type"]
            if kind == "finished":
                return EXIT_OK
            if kind == "error":
                sys.stderr.write(f"loopstep attach: {message.get('message')}\n")
                return EXIT_USAGE
            if kind != "pause":
                continue
            record = message["record"]
            iteration = record.get("iteration") or 0
            if first_iteration is None:
                first_iteration = iteration
            if iterations is not None and iteration >= first_iteration + iterations:
                break
            if fmt == "jsonl":
                record = dict(record)  # as loopstep run --no-tui prints it
                if message.get("watch"):
                    record["watch"] = message["watch"]
                if message["reason"] not in STEPPING_REASONS:
                    record["reason"] = message["reason"]
                line = json.dumps(record, separators=(",", ":"))
            else:
                if not header:
                    out.write(text_header() + "\n")
                    header = True
                line = message["text"]
            out.write(line + "\n")
            out.flush()
            connection.send("command", command="step", n=1)
        return EXIT_OK
    except BrokenPipeError:
        return EXIT_OK
    finally:
        with contextlib.suppress(OSError):
            connection.send("detach")
        connection.close()


def pick_a_run(runs: list[RunState]) -> RunState:
    """Several runs listen: list them on the terminal and ask which (the app's attach only)."""
    for number, run in enumerate(runs, start=1):
        sys.stderr.write(f"{number:>3}. {run.describe().strip()}\n")
    try:
        answer = input(f"attach to which run (1-{len(runs)}, or its pid)? ").strip()
    except (EOFError, KeyboardInterrupt):
        raise AttachError("loopstep attach: no run chosen") from None
    for number, run in enumerate(runs, start=1):
        if answer in (str(number), str(run.pid)):
            return run
    raise AttachError(f"loopstep attach: {answer!r} is none of the {len(runs)} runs listed")


def attach_app(pid: int | TcpAddress | None, *, no_pause: bool = False, token: str | None = None) -> int:
    """Show the run's app on this terminal: its screen comes over the socket, the keys go back.
    The app itself runs in the run's process, over its stepper."""
    import os
    import select
    import signal
    import struct
    import termios
    import tty

    from .terminal import LEAVE_APP_MODE, check_app_terminal

    try:
        check_app_terminal("loopstep attach")
    except Exception as exc:  # noqa: BLE001 - FrontendError: one line
        sys.stderr.write(f"{exc}\n")
        return EXIT_USAGE
    size = os.get_terminal_size(sys.stdout.fileno())
    env = {key: os.environ[key] for key in ("TERM", "COLORTERM", "NO_COLOR") if key in os.environ}
    try:
        connection = Connection(
            choose_run(pid, pick=pick_a_run),
            token=token,
            no_pause=no_pause,
            tui={"size": [size.columns, size.lines], "env": env},
        )
    except AttachError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_USAGE
    keys, screen = sys.stdin.fileno(), sys.stdout.fileno()
    saved = termios.tcgetattr(keys)
    resized = [False]
    previous = signal.signal(signal.SIGWINCH, lambda *_: resized.__setitem__(0, True))
    sock = connection.socket
    try:
        tty.setraw(keys)
        while True:
            if resized[0]:
                resized[0] = False
                now = os.get_terminal_size(screen)
                sock.sendall(b"W" + struct.pack("!HH", now.columns, now.lines))
            try:
                ready, _, _ = select.select([keys, sock], [], [], 0.2)
            except InterruptedError:
                continue
            if sock in ready:
                data = sock.recv(1 << 16)
                if not data:
                    break
                os.write(screen, data)
            if keys in ready:
                data = os.read(keys, 4096)
                if not data:
                    break
                sock.sendall(b"D" + struct.pack("!I", len(data)) + data)
    except OSError:
        pass
    finally:
        termios.tcsetattr(keys, termios.TCSANOW, saved)
        os.write(screen, LEAVE_APP_MODE.encode())
        signal.signal(signal.SIGWINCH, previous)
        connection.close()
    sys.stderr.write(f"loopstep attach: detached from run {connection.pid}\n")
    return EXIT_OK


def relay_attached(pid: int | TcpAddress | None, *, no_pause: bool = False, token: str | None = None) -> int:
    """``loopstep attach --web`` (what ``loopstep serve attach`` starts per browser): the app
    draws with Textual's web driver in the run's process; this relays its bytes both ways."""
    from .attach_web import relay

    size = [int(os.environ.get("COLUMNS", 80)), int(os.environ.get("ROWS", 24))]
    env = {key: os.environ[key] for key in ("NO_COLOR",) if key in os.environ}
    try:
        connection = Connection(
            choose_run(pid), token=token, no_pause=no_pause, tui={"size": size, "env": env, "web": True}
        )
    except AttachError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_USAGE
    try:
        relay(connection.socket)
    finally:
        connection.close()
    return EXIT_OK
