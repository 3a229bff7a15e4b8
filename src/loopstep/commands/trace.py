"""Run a built-in scenario and print every phase: one aligned line each, or one JSON object each."""

from __future__ import annotations

import argparse

from ..cli import positive_int
from .common import (
    add_record_arguments,
    add_scenario_arguments,
    recorded,
    scenario_session_from_args,
    stream_session,
)
from .stops import add_break_arguments, conditions_from


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_scenario_arguments(parser)
    parser.add_argument("--iterations", type=positive_int, help="stop after N iterations")
    parser.add_argument("--format", choices=("text", "jsonl"), default="text")
    add_record_arguments(parser)
    add_break_arguments(parser)


def main(args: argparse.Namespace) -> int:
    conditions = conditions_from(args)
    session = recorded(scenario_session_from_args(args, args.iterations), args)
    session.conditions = conditions
    return stream_session(session, args.format)
