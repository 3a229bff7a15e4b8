"""Runs a Session in the app or as a text stream, and turns how it ended into an exit status.

Both front ends train in a worker thread and keep the main thread for signals: SIGHUP and
SIGTERM end the run cleanly (a recording gets its end mark), Ctrl+C interrupts it in text
mode, a terminal that goes away is a hang-up. Whatever happens, the status says it
(:mod:`.exits`); a failure of loopstep itself writes a crash report and exits 70.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

from ..engine.control import REFUSED, Command, Listener, StopRun, TrainingError, quit_all, wait_all_ended
from ..engine.session import Session
from ..engine.stepper import Stepper
from .crash import report_crash
from .exits import EXIT_INTERRUPTED, EXIT_OK, EXIT_STOPPED, EXIT_TRAINING_FAILED, EXIT_USAGE, FrontendError
from .output import ScriptOutput
from .signals import (
    EXIT_GRACE_S,
    INTERRUPT_GRACE_S,
    ending_on_hangup,
    flushed_at_exit,
    forwarding_interrupts,
    hard_exit,
)
from .terminal import HangupWatch, check_app_terminal, driver_class
from .tracebacks import user_part

#: What a stop condition does in text mode: end the run there (exit 3), or print and go on.
ON_STOP = ("stop", "continue")


# ----- the app -------------------------------------------------------------------------------------
def run_app(session: Session, *, command: str = "loopstep", returns_to_caller: bool = False) -> int:
    """Open the app on ``session`` and return the exit status when it closes."""
    check_app_terminal(command)
    from ..ui.app import LoopstepApp

    output = ScriptOutput()
    app = LoopstepApp(session, driver_class=driver_class(), on_print=output.write)

    def exit_app(status: int) -> None:
        """From the hang-up handler: have the app exit between two of its callbacks (the
        handler runs in the main thread, inside the app's event loop)."""
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise SystemExit(status) from None  # before the loop starts or after it ends
        loop.call_soon_threadsafe(app.exit, None, status)

    with (
        ending_on_hangup(exit_app, app_terminal=True, returns_to_caller=returns_to_caller) as signals,
        HangupWatch(),
    ):
        try:
            result = app.run()
        except Exception as exc:  # noqa: BLE001 - loopstep's own failure: a report, never exit 0
            return report_crash(exc, context="running the app")
        finally:
            quit_all()  # however the app ended, no training thread may stay paused
            ended = wait_all_ended(EXIT_GRACE_S)
            output.replay()
    if signals:
        return 128 + signals[0]
    if not ended and not returns_to_caller:
        hard_exit(int(result or 0))  # a script stuck in its own code would hold the exit up
    crash = getattr(app, "_exception", None)
    if crash is not None:  # Textual has printed its traceback; say where the report is
        return report_crash(crash, context="in the app")
    error = app.view.error
    if error is not None and error.internal:
        return report_crash(text=error.traceback, context=f"loopstep, {error.where}")
    return int(result or 0)


# ----- text mode -------------------------------------------------------------------------------------
@contextlib.contextmanager
def stream_target(output: str | None, redirect_stdout: bool = True) -> Iterator[TextIO]:
    """Where the stream goes. On stdout, the script's own output (Python and C level, and
    that of its child processes) is sent to stderr meanwhile, so each line of the stream
    stays whole."""
    if output is not None:
        try:
            handle = open(output, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise FrontendError(f"loopstep: cannot write {output}: {exc.strerror}") from None
        with handle, flushed_at_exit(handle):
            yield handle
        return
    if not redirect_stdout:
        yield sys.stdout
        return
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        descriptor = None
    if descriptor != 1:
        # sys.stdout is not the process's stdout (replaced by a caller, or captured): the
        # stream goes there, the script's Python-level prints to stderr.
        out, sys.stdout = sys.stdout, sys.stderr
        try:
            yield out
        finally:
            sys.stdout = out
        return
    sys.stdout.flush()
    stream_fd = os.dup(1)
    os.dup2(2, 1)
    out = os.fdopen(os.dup(stream_fd), "w", encoding="utf-8")
    script_stdout, sys.stdout = sys.stdout, sys.stderr  # also when sys.stdout is not fd 1
    try:
        with flushed_at_exit(out):
            yield out
    finally:
        sys.stdout = script_stdout
        with contextlib.suppress(Exception):
            sys.stderr.flush()
            sys.stdout.flush()
        with contextlib.suppress(BrokenPipeError):
            out.close()
        os.dup2(stream_fd, 1)
        os.close(stream_fd)


def run_stream(
    session: Session,
    *,
    fmt: str = "text",
    output: str | None = None,
    keep_going: bool = False,
    on_stop: str = "stop",
    redirect_stdout: bool = True,
    returns_to_caller: bool = False,
) -> int:
    """Print the session's phases (every one; or, with stop conditions, the stops) and
    return the exit status."""
    from ..engine.text_format import StreamWriter
    from ..engine.watches import Watches
    from .distributed import torchrun_place

    watches = Watches(session.watches)
    place = torchrun_place()
    if place is not None and not place.owns_terminal and output is None:
        output = os.devnull  # one stream on the terminal, rank 0's: the others' would interleave
    stops_only = bool(session.conditions)
    stopped: list[str] = []
    refused: list[str] = []
    with stream_target(output, redirect_stdout) as out:
        fields = place.fields() if place is not None else None
        if fields is None and session.aligner is not None:  # a replay of a job: rank 0's records
            fields = {"rank": 0, "world_size": session.aligner.world_size}
        writer = StreamWriter(out, fmt, fields)

        def write(snapshot, reason: str | None = None, *, paused: bool = True) -> None:
            # The controller runs in the training thread, at the pause: the watches can be read.
            values = watches.evaluate_at(stepper) if paused else watches.evaluate(None, "the run has ended")
            try:
                writer.write(snapshot, reason, values)
                if paused and session.aligner is not None:  # a torchrun job: its other ranks here
                    for rank, record, text in session.aligner.others_at_pause():
                        writer.write_other(rank, record, text)
                writer.end_pause()
            except BrokenPipeError:  # the reader went away (| head): stop quietly
                raise StopRun from None

        def every_phase(snapshot, reason: str):
            if reason.startswith(REFUSED):
                refused.append(reason)  # bad input, found once the model was there to ask
                return Command.QUIT
            if stops_only:
                if reason == "start":
                    return Command.CONTINUE
                write(snapshot, reason)
                if on_stop == "stop":
                    stopped.append(reason)
                    return Command.QUIT  # the training code unwinds: its finally blocks run
                return Command.CONTINUE
            if keep_going:
                return Command.CONTINUE
            write(snapshot)
            return Command.STEP

        def at_finish(snapshot) -> None:
            if keep_going and snapshot is not None and not stops_only:
                write(snapshot, paused=False)

        stepper = session.new_stepper(
            Listener(on_finish=at_finish),
            controller=every_phase,
            pause_at_start=keep_going or stops_only,
            history=0,  # a stream never steps back: no checkpoints
        )
        stepper.brief_snapshots = True
        if (keep_going or stops_only) and session.aligner is None and place is None:
            # Only the end, or only the stops, are printed: the script runs asleep, at the bare
            # loop's speed, while every condition can be watched asleep (``nan``; the stepper
            # keeps it awake for the others), and reports its last phase when it ends.
            stepper.set_unwatched(True, end_shown=not stops_only)
        with flushed_at_exit(writer):  # its waiting lines before the file's buffer
            status = run_headless(stepper, returns_to_caller=returns_to_caller)
        with contextlib.suppress(OSError, ValueError):  # a reader gone (| head), a closed file
            writer.flush(timeout=EXIT_GRACE_S)
    if refused:
        sys.stderr.write(f"loopstep: --break: {refused[0].removeprefix(REFUSED)}\n")
        return EXIT_USAGE
    if status == EXIT_OK and stopped:
        sys.stderr.write(
            f"loopstep: stopped at a stop condition ({stopped[0]}); --on-stop continue goes on\n"
        )
        return EXIT_STOPPED
    return status


def run_headless(
    stepper: Stepper, *, returns_to_caller: bool = False, between: Callable[[], None] | None = None
) -> int:
    """Run ``stepper`` to its end in a worker thread (its controller answers every pause)
    and return the exit status; the training code's traceback is printed if it raised.
    ``between()`` runs in this (the main) thread while it waits, a few times a second: a
    listening run opens an attached app there."""
    worker = threading.Thread(target=stepper.run, name="loopstep-training", daemon=True)
    with (
        forwarding_interrupts(worker, lambda: stepper.quit("interrupted")) as interrupts,
        ending_on_hangup(returns_to_caller=returns_to_caller) as signals,
    ):
        worker.start()
        _wait(worker, lambda: interrupts.interrupted, signals, between)
    stepper.source.close()
    if interrupts.interrupted:
        return EXIT_INTERRUPTED
    if signals:
        return 128 + signals[0]
    return failure_status(stepper.error)


def _wait(
    worker: threading.Thread,
    interrupted: Callable[[], bool],
    signals: list[int],
    between: Callable[[], None] | None = None,
) -> None:
    """Join the training thread; after Ctrl+C or a signal, give it a grace period to unwind."""
    since: float | None = None
    while worker.is_alive():
        worker.join(0.1)
        if between is not None and since is None:
            between()
        if since is None and (interrupted() or signals):
            since = time.monotonic()
        if since is not None:
            grace = INTERRUPT_GRACE_S if interrupted() else EXIT_GRACE_S
            if time.monotonic() - since > grace:
                if interrupted():
                    hard_exit(EXIT_INTERRUPTED)
                return  # a signal: the last-resort exit ends the process if it must


def failure_status(error: TrainingError | None) -> int:
    """0 for no error; 1 with the training code's traceback; 70 with a crash report when the
    error is loopstep's own."""
    if error is None:
        return EXIT_OK
    if error.internal:
        return report_crash(text=error.traceback, context=f"loopstep, {error.where}")
    from ..engine.recording import RecordedFailure

    if isinstance(error.exception, RecordedFailure):
        return EXIT_TRAINING_FAILED  # the replay says so; the recorded run's error is not ours to print
    sys.stderr.write(user_part(error.exception))
    sys.stderr.write(f"loopstep: the training code raised {error.summary} {error.where}\n")
    return EXIT_TRAINING_FAILED
