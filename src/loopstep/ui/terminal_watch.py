"""Notice a terminal that went away without a hangup signal.

When an SSH session or a terminal emulator closes, the app normally receives SIGHUP and the
hang-up handler ends the run. A process that has the terminal without owning it (started in
a new session, or whose controlling terminal was dropped) gets no signal: the terminal just
stops existing, Textual's input thread spins on it, and the run would go on unseen. A
poll of the input for a hang-up, once a second, catches that case.
"""

from __future__ import annotations

import os
import select
import signal
import sys

#: Seconds between two looks at the terminal.
CHECK_EVERY_S = 1.0


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


def hang_up() -> None:
    """End the app as a hangup would: the SIGHUP handler closes recordings and exits."""
    os.kill(os.getpid(), getattr(signal, "SIGHUP", signal.SIGTERM))


def watch_terminal(app) -> None:
    """Look at ``app``'s terminal once a second; a real one only (not headless, not served)."""
    if app.is_headless or "web_driver" in os.environ.get("TEXTUAL_DRIVER", ""):
        return

    def check() -> None:
        if terminal_gone():
            hang_up()

    app.set_interval(CHECK_EVERY_S, check, name="terminal-watch")
