"""Entry points into the app for the commands: a built-in scenario, or any Session.

Textual is imported only here, on the way into the app, and the scenario's arguments are
checked before the screen is taken over so that bad input is one plain line.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sys

from ..cli import UsageError
from ..engine.session import Session


def _require_terminal() -> None:
    if "web_driver" in os.environ.get("TEXTUAL_DRIVER", ""):
        return  # loopstep serve: the app talks to a browser through pipes
    if not sys.stdout.isatty() or not sys.stdin.isatty():
        raise UsageError("loopstep: the app needs a terminal; use --no-tui to print the phases as text")


def run_demo(args: argparse.Namespace) -> int:
    """Open the app on a built-in scenario (``loopstep demo``)."""
    return run_session(demo_session(args))


def demo_session(args: argparse.Namespace) -> Session:
    """The session for a built-in scenario, its arguments checked without building it.

    Building the torch scenarios imports PyTorch (seconds); the app does that in its worker
    after the first frame, so nothing here may build the loop.
    """
    from ..commands.common import scenario_session_from_args
    from ..commands.stops import apply_to_session

    session = scenario_session_from_args(args, build_now=False)
    apply_to_session(session, args)
    return session


def run_session(session: Session, *, returns_to_caller: bool = False) -> int:
    """Open the app on any session. Returns 1 if the training code raised, 128+N after
    signal N (SIGHUP, SIGTERM: the recording is closed first), else 0."""
    _require_terminal()
    from ..engine.recording import closing_on_hangup
    from .app import LoopstepApp

    app = LoopstepApp(session)
    on_signal = functools.partial(_exit_on_signal, app)
    with closing_on_hangup(exit_app=on_signal, returns_to_caller=returns_to_caller) as signals:
        result = app.run()
    return 128 + signals[0] if signals else int(result or 0)


def _exit_on_signal(app, status: int) -> None:
    """From the hangup handler: have the app exit between two of its callbacks.

    The handler runs in the main thread, inside the app's event loop, which is why it may
    queue a callback there; before the loop starts or after it ends, the exit is immediate.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        raise SystemExit(status) from None
    loop.call_soon_threadsafe(app.exit, None, status)
