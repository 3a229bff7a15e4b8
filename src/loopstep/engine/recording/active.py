"""The recordings being written now, for the SIGHUP/SIGTERM handler that closes them.

Kept apart from the writer so that installing the handler (every app start) does not
load the writer and NumPy before the app's first frame.
"""

from __future__ import annotations

import threading
from typing import Any

from ..stepper import StopRun

#: Recorders of the runs in progress.
ACTIVE: set[Any] = set()
ACTIVE_LOCK = threading.Lock()


class HangUp(StopRun):
    """SIGHUP or SIGTERM arrived: end the run the way a quit does, then exit."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
