"""SIGHUP (the SSH session dropped) and SIGTERM end a recording run cleanly.

The handler asks every recording run to stop; the training thread then closes its file
with the frames it has and an end frame naming the signal, at its next phase. In the app
(training in a worker thread) the handler waits briefly for that, then exits so the app
restores the terminal.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator

from ..control import quit_all
from .active import ACTIVE, ACTIVE_LOCK, HangUp

#: How long the app's main thread waits for a training thread to close its recording.
CLOSE_WAIT_S = 5.0


@contextlib.contextmanager
def closing_on_hangup(
    received: list[int] | None = None, *, training_here: bool = False
) -> Iterator[list[int]]:
    """Within the block, SIGHUP/SIGTERM stop the run; ``received`` lists the signals.

    ``training_here``: the training code runs in this (the main) thread, as in text mode.
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
        threading.Thread(target=_exit_later, args=(128 + signum,), daemon=True).start()
        raise SystemExit(128 + signum)

    wanted = [s for s in (getattr(signal, "SIGHUP", None), signal.SIGTERM) if s is not None]
    previous = {s: signal.signal(s, handler) for s in wanted}
    try:
        yield caught
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


#: Seconds a hung-up app gets to exit cleanly (restoring the terminal) before it is ended.
EXIT_GRACE_S = 3.0


def _exit_later(status: int) -> None:
    time.sleep(EXIT_GRACE_S)
    os._exit(status)
