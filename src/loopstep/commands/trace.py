"""Run a built-in scenario and print every phase: one aligned line each, or one JSON object each."""

from __future__ import annotations

import argparse
import os
import sys

from ..cli import positive_int
from .common import add_scenario_arguments, build_scenario


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_scenario_arguments(parser)
    parser.add_argument("--iterations", type=positive_int, help="stop after N iterations")
    parser.add_argument("--format", choices=("text", "jsonl"), default="text")


def main(args: argparse.Namespace) -> int:
    from ..engine import Command, Settings, Stepper, StopRun
    from ..engine.text_format import StreamWriter

    loop = build_scenario(args)
    writer = StreamWriter(sys.stdout, args.format)

    def every_phase(snapshot, reason):
        try:
            writer.write(snapshot)
        except BrokenPipeError:  # the reader went away (| head): stop quietly
            raise StopRun from None
        return Command.STEP

    stepper = Stepper(
        loop,
        controller=every_phase,
        max_iterations=args.iterations,
        settings=Settings(zero_grad=not args.no_zero_grad, lr=args.lr),
        pause_at_start=False,
    )
    stepper.run()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep the interpreter's exit flush quiet
    if stepper.error is not None:
        sys.stderr.write(stepper.error.traceback)
        return 1
    return 0
