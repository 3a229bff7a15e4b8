"""Step through your own training: a PyTorch script run unmodified (SCRIPT.py [ARGS...]),
or an experiment from a factory (module.path:factory or file.py:factory)."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import sys
import threading
import traceback
from collections.abc import Iterator
from typing import TextIO

from ..cli import UsageError, positive_float, positive_int
from .common import add_record_arguments, recorded
from .stops import add_break_arguments, add_history_arguments, apply_to_session


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="SCRIPT.py|module:factory", help="what to run")
    parser.add_argument("script_args", nargs=argparse.REMAINDER, metavar="ARGS", help="passed to the script")
    parser.add_argument("--no-tui", action="store_true", help="print every phase instead of opening the app")
    parser.add_argument("--format", choices=("text", "jsonl"), default="text", help="with --no-tui")
    parser.add_argument(
        "--output", metavar="FILE", help="with --no-tui: write the stream here, not to stdout"
    )
    parser.add_argument("--iterations", type=positive_int, help="end the run after N iterations")
    parser.add_argument(
        "--continue",
        dest="keep_going",
        action="store_true",
        help="with --no-tui: do not stop at each phase; print only the final state",
    )
    parser.add_argument("--no-zero-grad", action="store_true", help="skip zero_grad: gradients pile up")
    parser.add_argument("--lr", type=positive_float, help="set every optimizer's learning rate")
    add_break_arguments(parser)
    add_record_arguments(parser)
    add_history_arguments(parser)


def build_session(args: argparse.Namespace):
    """The Session for the target; every problem with the target itself is a UsageError."""
    from ..engine.stepper import Settings
    from ..experiment import ExperimentError, factory_session, is_factory_spec

    settings = Settings(zero_grad=not args.no_zero_grad, lr=args.lr)
    target = args.target
    if is_factory_spec(target):
        if args.script_args:
            raise UsageError(f"loopstep: {target} takes no arguments")
        _require_torch()
        try:
            return factory_session(target, settings=settings, max_iterations=args.iterations)
        except ExperimentError as exc:
            raise UsageError(f"loopstep: {exc}") from None
    check_script(target)
    _require_torch()
    from ..backends.torch.intercept import script_session

    # A stream prints no trace or per-pass grads, so it records none.
    return script_session(
        target, args.script_args, settings=settings, max_iterations=args.iterations, detail=not args.no_tui
    )


def _require_torch() -> None:
    if importlib.util.find_spec("torch") is None:
        raise UsageError("loopstep: run needs PyTorch: pip install 'loopstep[torch]'")


def check_script(path: str) -> None:
    if not os.path.exists(path):
        raise UsageError(f"loopstep: no such file: {path}")
    if not os.path.isfile(path):
        raise UsageError(f"loopstep: not a file: {path}")
    try:
        with open(path, "rb") as handle:
            compile(handle.read(), path, "exec")
    except SyntaxError as exc:
        raise UsageError(f"loopstep: {path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"loopstep: cannot read {path}: {exc}") from None


def main(args: argparse.Namespace) -> int:
    if not args.no_tui and (args.output or args.keep_going or args.format != "text"):
        raise UsageError("loopstep: --format, --output and --continue go with --no-tui")
    from ..engine.recording import closing_on_hangup

    session = build_session(args)
    apply_to_session(session, args)
    if args.no_tui:
        session.diagnose = False  # the stream shows no findings (``loopstep check`` does)
    session = recorded(session, args)
    if not args.no_tui:
        try:
            from ..ui.launch import run_session
        except ImportError:
            raise UsageError("loopstep: the app is not available here; use --no-tui") from None
        return run_session(session)  # it closes recordings on a hangup
    with closing_on_hangup():
        return stream_session(session, fmt=args.format, output=args.output, keep_going=args.keep_going)


@contextlib.contextmanager
def stream_target(output: str | None, redirect_stdout: bool = True) -> Iterator[TextIO]:
    """Where the stream goes. On stdout, the script's own output (Python and C level, and
    that of its child processes) is sent to stderr meanwhile, so each line of the stream
    stays whole."""
    if output is not None:
        try:
            handle = open(output, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise UsageError(f"loopstep: cannot write {output}: {exc.strerror}") from None
        with handle:
            yield handle
        return
    if not redirect_stdout:
        yield sys.stdout
        return
    sys.stdout.flush()
    stream_fd = os.dup(1)
    os.dup2(2, 1)
    out = os.fdopen(os.dup(stream_fd), "w", encoding="utf-8")
    script_stdout, sys.stdout = sys.stdout, sys.stderr  # also when sys.stdout is not fd 1
    try:
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


def stream_session(
    session,
    *,
    fmt: str = "text",
    output: str | None = None,
    keep_going: bool = False,
    redirect_stdout: bool = True,
) -> int:
    """Run the session in a worker thread and print its phases; returns the exit status."""
    from ..backends.torch.intercept.interrupt import EXIT_INTERRUPTED, forwarding_interrupts
    from ..engine import Command, Listener, StopRun
    from ..engine.recording import RecordedFailure, closing_on_hangup
    from ..engine.text_format import StreamWriter

    with stream_target(output, redirect_stdout) as out:
        writer = StreamWriter(out, fmt)

        def write(snapshot, reason: str | None = None) -> None:
            try:
                writer.write(snapshot, reason)
            except BrokenPipeError:  # the reader went away (| head): stop quietly
                raise StopRun from None

        # With stop conditions only the stops are printed, each with its reason.
        stops_only = bool(session.conditions)

        def every_phase(snapshot, reason):
            if stops_only:
                if reason != "start":
                    write(snapshot, reason)
                return Command.CONTINUE
            if keep_going:
                return Command.CONTINUE
            write(snapshot)
            return Command.STEP

        def at_finish(snapshot) -> None:
            if keep_going and snapshot is not None:
                write(snapshot)

        stepper = session.new_stepper(
            Listener(on_finish=at_finish),
            controller=every_phase,
            pause_at_start=keep_going or stops_only,
            history=0,  # a stream never steps back: no checkpoints
        )
        worker = threading.Thread(target=stepper.run, name="loopstep-training", daemon=True)
        with (
            forwarding_interrupts(worker, lambda: stepper.send(Command.QUIT)) as interrupts,
            closing_on_hangup() as hangups,
        ):
            worker.start()
            interrupts.wait()
        close = getattr(stepper.source, "close", None)
        if close is not None:
            close()
    if interrupts.interrupted:
        return EXIT_INTERRUPTED
    if hangups:
        return 128 + hangups[0]
    if stepper.error is not None:
        if isinstance(stepper.error.exception, RecordedFailure):
            return 1
        sys.stderr.write(_error_report(stepper.error))
        return 1
    return 0


def _error_report(error) -> str:
    from ..backends.torch.intercept.frames import user_traceback

    exc = error.exception
    lines = traceback.format_exception(type(exc), exc, user_traceback(exc.__traceback__))
    where = f" during {error.phase}"
    if error.last_event is not None:
        where += f" (epoch {error.last_event.epoch}, iteration {error.last_event.iteration})"
    return "".join(lines) + f"loopstep: the training code raised {error.summary}{where}\n"
