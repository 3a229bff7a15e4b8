"""The terminal the app runs in: whether there is one, where to draw, how to give it back,
and noticing when it goes away.

The app draws on the terminal whatever the training script's streams are redirected to:
``loopstep run train.py 2>log.txt`` keeps the script's stderr in the log and the app on
the screen (Textual alone would draw into the log).
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading

from .exits import FrontendError

#: What the app turns on and must turn off: mouse reports, bracketed paste, focus reports,
#: the kitty keyboard protocol, the alternate screen (left last), the hidden cursor.
LEAVE_APP_MODE = (
    "\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l\x1b[?2004l\x1b[?1004l\x1b[?2048l"
    "\x1b[?7h\x1b[<u\x1b[?1049l\x1b[?25h"
)

#: Seconds between two looks at the terminal for a hang-up.
CHECK_EVERY_S = 1.0

#: A terminal to give back: the input's descriptor and saved modes, the output's descriptor.
Terminal = tuple[int, list, int]


def served() -> bool:
    """Under ``loopstep serve`` the app talks to a browser through pipes: no terminal needed."""
    return "web_driver" in os.environ.get("TEXTUAL_DRIVER", "")


def _isatty(stream) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def check_app_terminal(command: str) -> None:
    """Refuse, with one line and the text-mode hint, where the app cannot draw.

    ``command`` names what opens the app, as the user typed it ("loopstep demo").
    """
    if served():
        return
    hint = "use --no-tui for the text stream"
    if os.environ.get("TERM", "") == "dumb":
        raise FrontendError(f"{command}: the app draws full-screen, which TERM=dumb cannot show; {hint}")
    if not (_isatty(sys.stdout) or _isatty(sys.stderr)):
        raise FrontendError(f"{command}: stdout is not a terminal, and the app draws there; {hint}")
    if not _isatty(sys.stdin):
        raise FrontendError(f"{command}: stdin is not a terminal, and the app reads its keys there; {hint}")


def drawing_stream():
    """The stream the app draws on: stderr as Textual does, or stdout when stderr is
    redirected (``2>log.txt``)."""
    for stream in (sys.__stderr__, sys.__stdout__):
        if _isatty(stream):
            return stream
    return sys.__stderr__


def driver_class():
    """Textual's driver for this platform, drawing on :func:`drawing_stream` and sized by
    it (Textual asks stdout for the size, which may be a file). None: Textual's own."""
    if sys.platform == "win32" or served():
        return None
    from textual.drivers.linux_driver import LinuxDriver

    stream = drawing_stream()

    class TerminalDriver(LinuxDriver):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._file = stream

        def _get_terminal_size(self) -> tuple[int, int]:
            try:
                size = os.get_terminal_size(stream.fileno())
                return size.columns or 80, size.lines or 25
            except (AttributeError, ValueError, OSError):
                return super()._get_terminal_size()

    return TerminalDriver


# ----- giving the terminal back ------------------------------------------------------------------
def saved_terminal() -> Terminal | None:
    """The terminal's modes now, before the app changes them; None without a terminal."""
    try:
        import termios

        fd = sys.stdin.fileno()
        if not os.isatty(fd):
            return None
        return fd, termios.tcgetattr(fd), drawing_stream().fileno()
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


# ----- a terminal that goes away without a signal --------------------------------------------------
def terminal_gone(fd: int | None = None) -> bool:
    """True when the terminal behind ``fd`` (stdin by default) has hung up."""
    if not hasattr(select, "poll") or sys.platform == "darwin":
        return False  # macOS's poll() does not take devices: it could answer for a live terminal
    try:
        fd = sys.stdin.fileno() if fd is None else fd
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        events = poller.poll(0)
    except (OSError, ValueError):
        return False
    return any(mask & select.POLLHUP for _, mask in events)


class HangupWatch:
    """Looks at the terminal once a second; a hang-up ends the run as SIGHUP would.

    When an SSH session or a terminal emulator closes, the app normally receives SIGHUP. A
    process that has the terminal without owning it (started in a new session, or whose
    controlling terminal was dropped) gets no signal: the terminal just stops existing,
    Textual's input thread spins on it, and the run would go on unseen.
    """

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True, name="loopstep-terminal-watch")

    def __enter__(self) -> HangupWatch:
        if not served():
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(CHECK_EVERY_S):
            if terminal_gone():
                os.kill(os.getpid(), getattr(signal, "SIGHUP", signal.SIGTERM))
                return
