"""Entry points into the app for the commands: a built-in scenario, or any Session.

Textual is imported only here, on the way into the app, and the scenario's arguments are
checked before the screen is taken over so that bad input is one plain line.
"""

from __future__ import annotations

import argparse
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


def run_session(session: Session) -> int:
    """Open the app on any session. Returns 1 if the training code raised, else 0."""
    _require_terminal()
    from .app import LoopstepApp

    app = LoopstepApp(session)
    result = app.run()
    return int(result or 0)
