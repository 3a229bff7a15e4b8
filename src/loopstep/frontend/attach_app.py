"""The app of an attach, on the listening run's side: it runs in the run's own process (the
main thread), over the run's stepper, and draws on a pseudo-terminal whose bytes cross the
socket to ``loopstep attach``, which shows them on the user's terminal and sends back the
keys and the window's size. Only what the screen changes crosses, as over SSH.

Frames from the client: ``D`` + 4-byte length + bytes typed; ``W`` + columns and rows (two
unsigned shorts). To the client: the terminal's bytes as they are.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import struct
import termios
import threading

from .terminal import LEAVE_APP_MODE


def set_size(fd: int, columns: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def pty_driver(slave: int):
    """Textual's Linux driver, reading keys from and drawing on the pseudo-terminal ``slave``."""
    from textual.drivers.linux_driver import LinuxDriver

    class PtyDriver(LinuxDriver):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._file = open(os.dup(slave), "w", encoding="utf-8", errors="replace", closefd=True)  # noqa: SIM115
            self.fileno = slave
            self.input_tty = True

        def _get_terminal_size(self) -> tuple[int, int]:
            size = os.get_terminal_size(slave)
            return size.columns or 80, size.lines or 24

    return PtyDriver


class Bridge:
    """Copies the pseudo-terminal's output to the client, and the client's frames to it."""

    def __init__(self, connection: socket.socket, stream, master: int, on_gone) -> None:
        self.connection = connection
        self.stream = stream  # the connection's reader (the hello was read from it)
        self.master = master
        self.on_gone = on_gone
        self.closed = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._to_client, daemon=True, name="loopstep-attach-out").start()
        threading.Thread(target=self._from_client, daemon=True, name="loopstep-attach-in").start()

    def _to_client(self) -> None:
        """Until the pseudo-terminal closes: with the client gone, what the app still writes
        (its exit) is read and dropped, or a full terminal buffer would block the app."""
        client = True
        while True:
            try:
                data = os.read(self.master, 1 << 16)
            except OSError:
                break
            if not data:
                break
            if client and not self.closed.is_set():
                try:
                    self.connection.sendall(data)
                except OSError:
                    client = False

    def _from_client(self) -> None:
        try:
            self._copy_frames()
        except (OSError, struct.error):
            # A client killed with bytes unread on its side resets the connection (no plain
            # end of file), and one cut mid-frame leaves a short read: gone all the same.
            pass
        if not self.closed.is_set():
            self.on_gone()  # the client went away without a detach

    def _copy_frames(self) -> None:
        read = self.stream.read
        while True:
            kind = read(1)
            if not kind:
                return
            if kind == b"D":
                (length,) = struct.unpack("!I", read(4))
                data = read(length)
                with contextlib.suppress(OSError):
                    os.write(self.master, data)
            elif kind == b"W":
                columns, rows = struct.unpack("!HH", read(4))
                with contextlib.suppress(OSError):
                    set_size(self.master, columns, rows)
                    os.kill(os.getpid(), signal.SIGWINCH)  # the driver's handler reads the new size
            else:
                return

    def close(self) -> None:
        self.closed.set()
        with contextlib.suppress(OSError):
            self.connection.sendall(LEAVE_APP_MODE.encode())
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.connection.close()


def run_attached_app(listening, connection: socket.socket, stream, hello: dict) -> str | None:
    """Run the app for one attach, in the calling (main) thread, until it detaches, ends the
    run, or the client goes away; returns how it ended ("detach", "end" or None)."""
    from ..ui.attached import AttachedApp
    from .attach_web import socket_web_driver

    columns, rows = (hello.get("size") or [80, 24])[:2]
    web = bool(hello.get("web"))
    gone = threading.Event()  # the client's terminal (or browser) went away
    if web:
        fds: tuple[int, ...] = ()
        driver_class = socket_web_driver(connection, (int(columns), int(rows)), gone.set)
    else:
        master, slave = os.openpty()
        fds = (slave, master)
        set_size(slave, int(columns), int(rows))
        driver_class = pty_driver(slave)
    saved = {key: os.environ.get(key) for key in ("TERM", "COLORTERM", "NO_COLOR")}
    for key in saved:  # the app draws for the client's terminal, not for the run's
        value = (hello.get("env") or {}).get(key)
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = str(value)
    app = AttachedApp(
        listening.session,
        listening.stepper,
        reason=listening.last_reason,
        no_pause=bool(hello.get("no_pause")),
        driver_class=driver_class,
        client_gone=gone,
    )
    bridge = None if web else Bridge(connection, stream, fds[1], on_gone=gone.set)
    listening.app = app
    if bridge is not None:
        bridge.start()
    try:
        app.run()
    finally:
        listening.app = None
        if bridge is not None:
            bridge.close()
        else:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return app.end_choice
