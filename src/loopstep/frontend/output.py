"""What the training script prints while the app is on screen.

The app owns the terminal, so the script's prints cannot go there as they come. Where the
user redirected a stream (``> train.log``), its prints go to that file at once; prints
meant for the terminal are kept and written out after the app closes: nothing is lost.
"""

from __future__ import annotations

import sys

#: Characters kept for the terminal; past this the oldest are dropped (and counted).
KEEP_CHARS = 4 << 20


class ScriptOutput:
    def __init__(self) -> None:
        self._kept: list[tuple[str, bool]] = []
        self._size = 0
        self.dropped = 0

    @staticmethod
    def _stream(stderr: bool):
        return sys.__stderr__ if stderr else sys.__stdout__

    def write(self, text: str, stderr: bool) -> None:
        """Called in the app's thread for each captured print."""
        stream = self._stream(stderr)
        try:
            redirected = stream is not None and not stream.isatty()
        except (ValueError, OSError):
            redirected = False
        if redirected:
            try:
                stream.write(text)
                stream.flush()
                return
            except (OSError, ValueError):
                pass
        self._kept.append((text, stderr))
        self._size += len(text)
        while self._size > KEEP_CHARS and self._kept:
            old, _ = self._kept.pop(0)
            self._size -= len(old)
            self.dropped += len(old)

    def replay(self) -> None:
        """After the app: write what the script printed for the terminal, in order."""
        if not self._kept:
            return
        kept, self._kept, self._size = self._kept, [], 0
        try:
            sys.__stderr__.write("loopstep: what the script printed while the app was open:\n")
            if self.dropped:
                sys.__stderr__.write(f"loopstep: ({self.dropped} earlier characters were not kept)\n")
            for text, stderr in kept:
                self._stream(stderr).write(text)
            for stream in (sys.__stdout__, sys.__stderr__):
                stream.flush()
        except (OSError, ValueError):
            pass
