"""SIGHUP (the SSH session dropped) and SIGTERM end a recording run cleanly.

The handler asks every recording run to stop; the training thread then closes its file
with the frames it has and an end frame naming the signal, at its next phase. In the app
(training in a worker thread) the handler waits briefly for that, then asks the app to exit
between two of its callbacks, so that it gives the terminal back the way it found it. An
exception raised from the handler would land at an arbitrary point of the app's event loop,
and the app could then hang on its way out with the terminal still in raw mode.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator

from ..control import quit_all
from .active import ACTIVE, ACTIVE_LOCK, HangUp

#: How long the app's main thread waits for a training thread to close its recording.
CLOSE_WAIT_S = 5.0


@contextlib.contextmanager
def closing_on_hangup(
    received: list[int] | None = None,
    *,
    training_here: bool = False,
    exit_app: Callable[[int], None] | None = None,
    returns_to_caller: bool = False,
) -> Iterator[list[int]]:
    """Within the block, SIGHUP/SIGTERM stop the run; ``received`` lists the signals.

    ``training_here``: the training code runs in this (the main) thread, as in text mode.
    ``exit_app(status)``: called from the handler to end the app cleanly; without it the
    handler raises ``SystemExit``. After a signal, a last-resort exit ends the process if it
    is still there a few seconds later; ``returns_to_caller`` (a library call, with the
    caller's code still to run) calls that off when the block ends.
    """
    caught: list[int] = received if received is not None else []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def handler(signum: int, frame: object) -> None:
        caught.append(signum)
        with ACTIVE_LOCK:
            active = list(ACTIVE)
        for recorder in active:
            recorder.request_stop(signum)
        if training_here:
            if not active:
                raise HangUp(signum)  # nothing to save: unwind the run now
            # The run stops at its next phase, a point where the recording is consistent
            # (an exception raised here could land in the middle of queuing a frame).
            return
        quit_all()  # a training thread in continue mode would otherwise go on after the app is gone
        deadline = time.monotonic() + CLOSE_WAIT_S
        while any(not r.closed for r in active) and time.monotonic() < deadline:
            time.sleep(0.02)
        # Textual's input thread can outlive the app when its terminal is gone and keep the
        # process alive, busy, forever: if a clean exit has not happened soon, force one.
        threading.Thread(target=_exit_later, args=(128 + signum, terminal, ended), daemon=True).start()
        if exit_app is None:
            raise SystemExit(128 + signum)
        exit_app(128 + signum)

    terminal = _terminal_modes() if exit_app is not None else None  # only an app changes it
    ended = threading.Event()
    wanted = [s for s in (getattr(signal, "SIGHUP", None), signal.SIGTERM) if s is not None]
    previous = {s: signal.signal(s, handler) for s in wanted}
    try:
        yield caught
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
        if returns_to_caller:
            ended.set()


#: Seconds a hung-up app gets to exit cleanly (restoring the terminal) before it is ended.
EXIT_GRACE_S = 3.0


#: What the app turns on and must turn off: mouse reports, bracketed paste, focus reports,
#: the kitty keyboard protocol, the alternate screen (left last), the hidden cursor.
LEAVE_APP_MODE = (
    "\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l\x1b[?2004l\x1b[?1004l\x1b[?2048l"
    "\x1b[?7h\x1b[<u\x1b[?1049l\x1b[?25h"
)


#: A terminal to give back: the input's descriptor and saved modes, the output's descriptor.
Terminal = tuple[int, list, int]


def _terminal_modes() -> Terminal | None:
    """The terminal's modes now, before the app changes them; None without a terminal."""
    try:
        import termios

        fd = sys.stdin.fileno()
        if not os.isatty(fd):
            return None
        # The app draws on stderr, like Textual's driver, unless that is redirected.
        out = next((s.fileno() for s in (sys.__stderr__, sys.__stdout__) if s and s.isatty()), fd)
        return fd, termios.tcgetattr(fd), out
    except Exception:  # noqa: BLE001 - termios.error, OSError, no fileno: nothing to give back later
        return None


def restore_terminal(terminal: Terminal | None) -> None:
    """Give the terminal back as it was: its saved modes, and out of the app's screen modes."""
    if terminal is None:
        return
    fd, modes, out = terminal
    try:
        import termios

        termios.tcsetattr(fd, termios.TCSANOW, modes)
        os.write(out, LEAVE_APP_MODE.encode())
    except Exception:  # noqa: BLE001 - termios.error, OSError: the terminal is gone, nothing to restore
        pass


def _exit_later(status: int, terminal: Terminal | None, ended: threading.Event) -> None:
    if ended.wait(EXIT_GRACE_S):
        return  # the app is gone and the caller's code goes on: not for this thread to end it
    try:
        restore_terminal(terminal)  # the app did not get that far
    finally:
        os._exit(status)  # whatever happened above: this thread is the way out
