"""Print every phase of a run as one aligned line, or as one JSON object per line.

TARGET is a built-in scenario (default linreg), SCRIPT.py [ARGS], file.py:factory,
module:factory or a recording: the same stream as ``loopstep run --no-tui``.
"""

from __future__ import annotations

import argparse

from ..targets import Kind
from .options import (
    add_break_options,
    add_iterations,
    add_record_options,
    add_scenario_options,
    add_settings_options,
    add_target,
    add_text_options,
    add_watch_option,
)
from .start import start


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target(parser, default="linreg")
    add_scenario_options(parser)
    add_settings_options(parser)
    add_iterations(parser)
    add_text_options(parser, always=True)
    add_break_options(parser)
    add_watch_option(parser)
    add_record_options(parser)


def main(args: argparse.Namespace) -> int:
    return start(args, "trace", tuple(Kind), text=True)
