"""Arguments and helpers shared by the commands that run a built-in scenario, record or replay."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from ..cli import UsageError, int_arg, positive_float, positive_int

if TYPE_CHECKING:
    from ..engine.session import Session


def add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", nargs="?", default="linreg", help="linreg (default) or mlp")
    parser.add_argument(
        "--backend", choices=("numpy", "torch"), help="default: numpy for linreg, torch for mlp"
    )
    parser.add_argument(
        "--no-zero-grad", action="store_true", help="skip optimizer.zero_grad(): gradients pile up"
    )
    parser.add_argument("--lr", type=positive_float, help="learning rate (default: the scenario's)")
    parser.add_argument("--seed", type=int_arg, default=0, help="seed for data and weights (default 0)")
    parser.add_argument("--epochs", type=positive_int, help="number of epochs (default: the scenario's)")


def build_scenario(args: argparse.Namespace):
    from ..scenarios import ScenarioError, build

    try:
        return build(args.scenario, args.backend, seed=args.seed, lr=args.lr, epochs=args.epochs)
    except ScenarioError as exc:
        raise UsageError(f"loopstep: {exc}") from None
    except ImportError as exc:
        if "torch" in str(exc):
            raise UsageError(
                "loopstep: the torch backend needs PyTorch: pip install 'loopstep[torch]'"
            ) from None
        raise


def scenario_session_from_args(
    args: argparse.Namespace, max_iterations: int | None = None, *, build_now: bool = True
) -> Session:
    """A Session for the scenario the arguments name; bad arguments fail here, before any UI.

    ``build_now`` builds the first loop at once (text mode: its errors become one line);
    the app passes False so that its first frame never waits for torch to load.
    """
    import importlib.util

    from ..scenarios import ScenarioError, scenario_session

    try:
        session = scenario_session(
            args.scenario,
            args.backend,
            seed=args.seed,
            lr=args.lr,
            epochs=args.epochs,
            zero_grad=not args.no_zero_grad,
            max_iterations=max_iterations,
        )
    except ScenarioError as exc:
        raise UsageError(f"loopstep: {exc}") from None
    if not build_now:
        if session.backend == "torch" and importlib.util.find_spec("torch") is None:
            raise UsageError("loopstep: the torch backend needs PyTorch: pip install 'loopstep[torch]'")
        return session
    first = [build_scenario(args)]
    fresh = session.make_source

    def make_source():
        return first.pop() if first else fresh()

    return replace(session, make_source=make_source)


# ----- recordings ------------------------------------------------------------------------------
def add_record_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--record", metavar="PATH", help="record every phase to PATH (replay it later)")
    parser.add_argument(
        "--record-tensors",
        choices=("summary", "small", "all"),
        default="small",
        help="values of tensors up to 65536 elements (small, default), of all, or summaries only",
    )


def check_writable(path: str) -> None:
    """Fail now, with one line, if a recording cannot be written to ``path``."""
    if not path:
        raise UsageError("loopstep: --record needs a file name")
    if os.path.isdir(path):
        raise UsageError(f"loopstep: cannot record to {path}: it is a directory")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(f"loopstep: cannot record to {path}: no such directory {parent}")
    try:
        with open(path, "ab"):
            pass
    except OSError as exc:
        raise UsageError(f"loopstep: cannot record to {path}: {exc.strerror or exc}") from None


def recorded(session: Session, args: argparse.Namespace) -> Session:
    """The session, recorded to ``--record PATH`` when given (for demo, trace and run)."""
    path = getattr(args, "record", None)
    if path is None:
        return session
    from ..engine.recording import record_session

    check_writable(path)
    return record_session(session, path, getattr(args, "record_tensors", "small"))


def open_recording(path: str):
    """Read and check a recording, or fail with one line (exit 2)."""
    from ..engine.recording import RecordingError, read_recording

    try:
        return read_recording(path)
    except RecordingError as exc:
        message = str(exc)
        raise UsageError(message if message.startswith("loopstep:") else f"loopstep: {message}") from None


# ----- text mode and the app ---------------------------------------------------------------------
def require_terminal(command: str) -> None:
    """The app needs a terminal: refuse a pipe or a file with a hint, before anything starts.

    Under ``loopstep serve`` the app talks to a browser through pipes, which is fine.
    """
    if "web_driver" in os.environ.get("TEXTUAL_DRIVER", ""):
        return
    if not sys.stdout.isatty() or not sys.stdin.isatty():
        raise UsageError(
            f"loopstep: {command} opens an interactive app but stdout is not a terminal; "
            "use --no-tui for the text stream"
        )


def open_app(session: Session, command: str) -> int:
    require_terminal(command)
    try:
        from ..ui.launch import run_session
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("loopstep.ui"):
            raise UsageError(
                f"loopstep: the app is not part of this install; use {command} --no-tui"
            ) from None
        raise
    return int(run_session(session) or 0)  # it closes recordings on a hangup


def stream_session(session: Session, fmt: str = "text", out=None) -> int:
    """Run the session to its end, printing every phase (the ``loopstep trace`` stream).

    Returns 0, 1 if the training code failed, or 128+signal after SIGHUP/SIGTERM (the
    recording, if any, is closed first).
    """
    from ..engine import Command, StopRun
    from ..engine.recording import HangUp, RecordedFailure, closing_on_hangup
    from ..engine.text_format import StreamWriter

    out = out if out is not None else sys.stdout
    writer = StreamWriter(out, fmt)

    # With stop conditions only the stops are printed, each with its reason.
    stops_only = bool(session.conditions)

    def every_phase(snapshot, reason):
        if stops_only and reason == "start":
            return Command.CONTINUE
        try:
            writer.write(snapshot, reason if stops_only else None)
        except BrokenPipeError:  # the reader went away (| head): stop quietly
            raise StopRun from None
        return Command.CONTINUE if stops_only else Command.STEP

    # A stream never steps back: no checkpoints.
    stepper = session.new_stepper(controller=every_phase, pause_at_start=stops_only, history=0)
    with closing_on_hangup(training_here=True) as received:
        try:
            stepper.run()
        except HangUp:  # the signal came before or after the run itself
            pass
    try:
        out.flush()
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep the interpreter's exit flush quiet
    if received:
        return 128 + received[0]
    error = stepper.error
    if error is not None:
        if not isinstance(error.exception, RecordedFailure):
            sys.stderr.write(error.traceback)
        return 1
    return 0
