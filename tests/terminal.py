"""A real terminal for tests: tmux runs loopstep, keys go in with send-keys and the screen
comes back with capture-pane."""

from __future__ import annotations

import itertools
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
#: How long to wait for the screen to show something (a bound on the wait, not a speed check).
PATIENCE_S = 30
_SESSIONS = itertools.count()


class Tmux:
    def __init__(
        self, width: int, height: int, args: tuple[str, ...] = ("demo",), module: str = "loopstep"
    ) -> None:
        """``python -m MODULE ARGS`` (loopstep, or a launcher of it: torch.distributed.run)."""
        self.socket = f"loopstep-test-{os.getpid()}-{width}x{height}-{next(_SESSIONS)}"
        env = f"PYTHONPATH={shlex.quote(str(SRC))} TERM=xterm-256color"
        loopstep = " ".join(shlex.quote(a) for a in args)
        command = f"env {env} {shlex.quote(sys.executable)} -m {module} {loopstep}; sleep 60"
        self._tmux("new-session", "-d", "-x", str(width), "-y", str(height), command)

    def _tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True, timeout=10
        ).stdout

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", *keys)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p")

    def wait_for(self, pattern: str) -> str:
        deadline = time.monotonic() + PATIENCE_S
        while True:
            text = self.screen()
            if re.search(pattern, text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} never appeared; the screen was:\n{text}")
            time.sleep(0.1)

    def settled(self) -> str:
        """The screen, styles included, once two captures a moment apart agree."""
        before = None
        deadline = time.monotonic() + PATIENCE_S
        while True:
            time.sleep(0.2)
            now = self._tmux("capture-pane", "-p", "-e")
            if now == before or time.monotonic() > deadline:
                return now
            before = now

    def repainted_in_full(self) -> str:
        """The screen after the app painted all of it again: the window is made one column
        narrower and then given its size back (each a resize, after which the app draws
        every cell), styles included."""
        name = self._tmux("display-message", "-p", "#{window_width} #{window_height}").split()
        width, height = name
        self._tmux("resize-window", "-x", str(int(width) - 1), "-y", height)
        self.settled()
        self._tmux("resize-window", "-x", width, "-y", height)
        return self.settled()

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)
