"""The app of an attach served to a browser (``loopstep serve attach PID``): textual-serve
starts ``loopstep attach PID --web`` for each browser connection, a relay between its pipes
and the run's socket; in the run's process the attached app draws with Textual's web driver
over that socket instead of a pseudo-terminal. textual-serve's own framing (``D``, ``M``
packets, its handshake line) crosses as it is, both ways.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import selectors
import signal
import socket
import sys
import threading
from collections.abc import Callable


def socket_web_driver(connection: socket.socket, size: tuple[int, int], on_gone: Callable[[], None]):
    """Textual's web driver, on ``connection`` instead of this process's stdin and stdout
    (which are the training script's)."""
    from textual.driver import Driver
    from textual.drivers.web_driver import WebDriver

    fd = connection.fileno()

    class SocketInput:
        """What the web driver's input thread reads: the socket, until it closes."""

        def __init__(self, timeout: float = 0.1) -> None:
            self.timeout = timeout
            self._selector = selectors.DefaultSelector()
            self._selector.register(fd, selectors.EVENT_READ)
            self._closed = threading.Event()

        def close(self) -> None:
            self._closed.set()

        def __iter__(self):
            while not self._closed.is_set():
                for _key, events in self._selector.select(self.timeout):
                    if events & selectors.EVENT_READ:
                        try:
                            data = os.read(fd, 4096)
                        except OSError:
                            data = b""
                        if not data:
                            on_gone()  # the browser (or its relay) went away without a detach
                            return
                        yield data
                yield b""

    class SocketWebDriver(WebDriver):
        def __init__(self, app, *, debug: bool = False, mouse: bool = True, size=None) -> None:
            # The web driver's own __init__ would read this process's stdin: set up as it
            # does, over the socket.
            Driver.__init__(self, app, debug=debug, mouse=mouse, size=size or initial_size)
            self.stdout = None
            self.fileno = fd
            self._write = self._send
            self.exit_event = threading.Event()
            self._key_thread = threading.Thread(target=self.run_input_thread, name="textual-input")
            self._input_reader = SocketInput()
            self._deliveries = {}

        def _send(self, data: bytes) -> None:
            try:
                connection.sendall(data)
            except OSError:
                on_gone()

        def start_application_mode(self) -> None:
            """As the web driver's, but the run keeps its own SIGINT and SIGTERM handlers:
            a signal ends the run cleanly, not only this app."""
            kept = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
            super().start_application_mode()
            loop = asyncio.get_running_loop()
            for number, handler in kept.items():
                loop.remove_signal_handler(number)
                signal.signal(number, handler)

    initial_size = size
    return SocketWebDriver


def relay(connection: socket.socket) -> None:
    """``loopstep attach --web``: copy stdin to the run and the run to stdout until either ends."""
    sock = connection

    def to_run() -> None:
        while data := os.read(sys.stdin.fileno(), 1 << 16):
            try:
                sock.sendall(data)
            except OSError:
                break
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)

    threading.Thread(target=to_run, daemon=True, name="loopstep-relay").start()
    out = sys.stdout.fileno()
    while True:
        try:
            data = sock.recv(1 << 16)
        except OSError:
            break
        if not data:
            break
        while data:
            data = data[os.write(out, data) :]
