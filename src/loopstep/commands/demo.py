"""Open the step-through debugger on a built-in scenario (default: linreg)."""

from __future__ import annotations

import argparse

from .common import add_scenario_arguments
from .stops import add_break_arguments, add_history_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_scenario_arguments(parser)
    add_break_arguments(parser)
    add_history_arguments(parser)


def main(args: argparse.Namespace) -> int:
    from ..ui.launch import run_demo

    return run_demo(args)
