"""Open the step-through debugger on a built-in scenario (default: linreg)."""

from __future__ import annotations

import argparse

from .common import (
    add_record_arguments,
    add_scenario_arguments,
    open_app,
    recorded,
    require_terminal,
    scenario_session_from_args,
    stream_session,
)
from .stops import add_break_arguments, add_history_arguments, apply_to_session


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_scenario_arguments(parser)
    parser.add_argument("--no-tui", action="store_true", help="print every phase instead of opening the app")
    add_record_arguments(parser)
    add_break_arguments(parser)
    add_history_arguments(parser)


def main(args: argparse.Namespace) -> int:
    # Bad arguments first, then the terminal. The app gets the scenario checked but not built:
    # it builds it (and imports PyTorch) after its first frame.
    session = scenario_session_from_args(args, build_now=args.no_tui)
    apply_to_session(session, args)
    session = recorded(session, args)
    if args.no_tui:
        return stream_session(session, "text")
    require_terminal("loopstep demo")
    return open_app(session, "loopstep demo")
