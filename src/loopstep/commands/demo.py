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
    if args.no_tui:
        session = scenario_session_from_args(args)
        apply_to_session(session, args)
        return stream_session(recorded(session, args), "text")
    require_terminal("loopstep demo")
    from ..ui.launch import demo_session

    # Checked but not built: the app builds it (and imports PyTorch) after its first frame.
    session = demo_session(args)
    apply_to_session(session, args)
    return open_app(recorded(session, args), "loopstep demo")
