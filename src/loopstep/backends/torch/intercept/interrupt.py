"""Ctrl+C while a script trains in a worker thread.

SIGINT is delivered to the main thread only. The first Ctrl+C asks the training thread
to stop (a KeyboardInterrupt raised in it, so the script's ``finally`` blocks run); a
second one, or a training thread that does not end in time (stuck in C code, or a
script that swallows the interrupt), ends the process at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator

#: Seconds the training thread gets to unwind after Ctrl+C before the process is ended.
GRACE_SECONDS = 10.0
EXIT_INTERRUPTED = 130


def raise_in_thread(thread: threading.Thread, exc_type: type[BaseException]) -> bool:
    """Raise ``exc_type`` in ``thread`` at its next Python instruction."""
    if thread.ident is None:
        return False
    count = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread.ident), ctypes.py_object(exc_type)
    )
    return count == 1


class InterruptForwarder:
    def __init__(self, thread: threading.Thread, stop: Callable[[], None]) -> None:
        self.thread = thread
        self.stop = stop
        self.interrupted = False

    def _handle(self, signum, frame) -> None:
        if self.interrupted:
            self.hard_exit()
        self.interrupted = True
        self.stop()
        raise_in_thread(self.thread, KeyboardInterrupt)

    @staticmethod
    def hard_exit() -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(EXIT_INTERRUPTED)

    def wait(self) -> None:
        """Join the training thread; after Ctrl+C, give it GRACE_SECONDS to finish."""
        waited = 0.0
        while self.thread.is_alive():
            self.thread.join(0.1)
            if self.interrupted:
                waited += 0.1
                if waited > GRACE_SECONDS:
                    self.hard_exit()


@contextlib.contextmanager
def forwarding_interrupts(thread: threading.Thread, stop: Callable[[], None]) -> Iterator[InterruptForwarder]:
    forwarder = InterruptForwarder(thread, stop)
    if threading.current_thread() is not threading.main_thread():
        yield forwarder
        return
    previous = signal.signal(signal.SIGINT, forwarder._handle)
    try:
        yield forwarder
    finally:
        signal.signal(signal.SIGINT, previous)
