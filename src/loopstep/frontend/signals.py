"""Signals while a run goes on: SIGHUP and SIGTERM end it cleanly, Ctrl+C interrupts it.

SIGHUP (the SSH session dropped) and SIGTERM ask every run in the process to end at its
next phase, naming the signal: the training code unwinds (its ``finally`` blocks run) and
a recording gets its last frames and an end mark saying "signal N". In the app, the
handler then asks the app to exit between two of its callbacks, so that it gives the
terminal back the way it found it; an exception raised from the handler would land at an
arbitrary point of the app's event loop, which could then hang with the terminal raw.
A last-resort exit ends the process if it is still there a few seconds later.

In text mode Ctrl+C (SIGINT, delivered to the main thread only) is forwarded to the
training thread as a KeyboardInterrupt; a second Ctrl+C, or a training thread that does
not unwind in time (stuck in C code, or a script that swallows the interrupt), ends the
process at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Protocol

from ..engine.control import quit_all
from .exits import EXIT_INTERRUPTED
from .terminal import Terminal, restore_terminal, saved_terminal

#: Seconds a signalled process gets to exit cleanly (restoring the terminal) before it is ended.
EXIT_GRACE_S = 3.0
#: Seconds the training thread gets to unwind after Ctrl+C before the process is ended.
INTERRUPT_GRACE_S = 10.0


def hangup_signals() -> list[int]:
    return [s for s in (getattr(signal, "SIGHUP", None), signal.SIGTERM) if s is not None]


@contextlib.contextmanager
def ending_on_hangup(
    on_signal: Callable[[int], None] | None = None,
    *,
    app_terminal: bool = False,
    returns_to_caller: bool = False,
) -> Iterator[list[int]]:
    """Within the block, SIGHUP/SIGTERM end every run; the list yielded names the signals.

    ``on_signal(status)`` runs in the handler after the runs were told (the app passes a
    function that asks it to exit). ``app_terminal``: the app changes the terminal's modes,
    so the last-resort exit restores the ones saved now. ``returns_to_caller`` (a library
    call, with the caller's code still to run) calls the last-resort exit off when the
    block ends; a command keeps it armed, since it exits right after.
    """
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return
    terminal = saved_terminal() if app_terminal else None
    ended = threading.Event()

    def handler(signum: int, frame: object) -> None:
        caught.append(signum)
        quit_all(f"signal {signum}")
        # Textual's input thread can outlive the app when its terminal is gone and keep the
        # process alive, busy, forever: if a clean exit has not happened soon, force one.
        threading.Thread(
            target=_exit_later, args=(128 + signum, terminal, ended), daemon=True, name="loopstep-backstop"
        ).start()
        if on_signal is not None:
            on_signal(128 + signum)

    previous = {s: signal.signal(s, handler) for s in hangup_signals()}
    try:
        yield caught
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
        if returns_to_caller:
            ended.set()


def _exit_later(status: int, terminal: Terminal | None, ended: threading.Event) -> None:
    if ended.wait(EXIT_GRACE_S):
        return  # the app is gone and the caller's code goes on: not for this thread to end it
    try:
        restore_terminal(terminal)  # the app did not get that far
    finally:
        flush_all()
        os._exit(status)  # whatever happened above: this thread is the way out


# ----- Ctrl+C in text mode ---------------------------------------------------------------------
def raise_in_thread(thread: threading.Thread, exc_type: type[BaseException]) -> bool:
    """Raise ``exc_type`` in ``thread`` at its next Python instruction."""
    if thread.ident is None:
        return False
    count = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread.ident), ctypes.py_object(exc_type)
    )
    return count == 1


class InterruptForwarder:
    """What the SIGINT handler does while a training thread runs (see the module docstring)."""

    def __init__(self, thread: threading.Thread, stop: Callable[[], None]) -> None:
        self.thread = thread
        self.stop = stop
        self.interrupted = False

    def handle(self, signum: int, frame: object) -> None:
        if self.interrupted:
            hard_exit(EXIT_INTERRUPTED)
        self.interrupted = True
        self.stop()
        raise_in_thread(self.thread, KeyboardInterrupt)


def hard_exit(status: int) -> None:
    """End the process now, after flushing what was written so far."""
    flush_all()
    os._exit(status)


class Flushable(Protocol):
    def flush(self) -> None: ...


#: What a hard exit flushes besides stdout and stderr: the stream of phases (its writer's
#: waiting lines, then the file's buffer).
_FLUSHED_AT_EXIT: list[Flushable] = []


@contextlib.contextmanager
def flushed_at_exit(stream: Flushable) -> Iterator[Flushable]:
    """While inside, a hard exit flushes ``stream`` too."""
    _FLUSHED_AT_EXIT.append(stream)
    try:
        yield stream
    finally:
        _FLUSHED_AT_EXIT.remove(stream)


def flush_all() -> None:
    for stream in (*_FLUSHED_AT_EXIT, sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


@contextlib.contextmanager
def forwarding_interrupts(thread: threading.Thread, stop: Callable[[], None]) -> Iterator[InterruptForwarder]:
    forwarder = InterruptForwarder(thread, stop)
    if threading.current_thread() is not threading.main_thread():
        yield forwarder
        return
    previous = signal.signal(signal.SIGINT, forwarder.handle)
    try:
        yield forwarder
    finally:
        signal.signal(signal.SIGINT, previous)
