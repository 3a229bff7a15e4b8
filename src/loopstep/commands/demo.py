"""Open the step-through debugger on a built-in scenario (default: linreg)."""

from __future__ import annotations

import argparse

from ..targets import Kind
from .options import (
    add_break_options,
    add_history_options,
    add_iterations,
    add_record_options,
    add_scenario_options,
    add_settings_options,
    add_target,
    add_text_options,
    add_watch_option,
)
from .start import start, text_mode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target(parser, default="linreg", scripts=False)
    add_scenario_options(parser)
    add_settings_options(parser)
    add_iterations(parser)
    add_text_options(parser)
    add_break_options(parser)
    add_watch_option(parser)
    add_history_options(parser)
    add_record_options(parser)
    parser.add_argument(
        "--compare",
        dest="compare_backends",
        action="store_true",
        help="the NumPy and PyTorch loops side by side, in step: the same batches, the same "
        "numbers, phase by phase (R shows the other)",
    )


def main(args: argparse.Namespace) -> int:
    return start(args, "demo", (Kind.SCENARIO,), text=text_mode(args))
