"""SIGHUP (the SSH session dropped) and SIGTERM end a recording run cleanly.

The handler asks every recording run to stop; the training thread then closes its file
with the frames it has and an end frame naming the signal. When the training code runs in
the main thread (text mode) the handler unwinds it directly; otherwise (the app) it waits
briefly for the training thread, then exits so the app restores the terminal.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator

from . import writer

#: How long the app's main thread waits for a training thread to close its recording.
CLOSE_WAIT_S = 2.0


@contextlib.contextmanager
def closing_on_hangup(received: list[int] | None = None) -> Iterator[list[int]]:
    """Within the block, SIGHUP/SIGTERM stop the recording runs; ``received`` lists the signals."""
    caught: list[int] = received if received is not None else []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def handler(signum: int, frame: object) -> None:
        caught.append(signum)
        with writer._ACTIVE_LOCK:
            active = list(writer.ACTIVE)
        here = threading.get_ident()
        for recorder in active:
            recorder.request_stop(signum)
        if any(r.thread_id == here for r in active):
            raise writer.HangUp(signum)  # the training code runs here: unwind it now
        deadline = time.monotonic() + CLOSE_WAIT_S
        while any(not r.closed for r in active) and time.monotonic() < deadline:
            time.sleep(0.02)
        raise SystemExit(128 + signum)

    wanted = [s for s in (getattr(signal, "SIGHUP", None), signal.SIGTERM) if s is not None]
    previous = {s: signal.signal(s, handler) for s in wanted}
    try:
        yield caught
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
