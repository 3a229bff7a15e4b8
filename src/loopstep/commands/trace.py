"""Run a built-in scenario and print every phase: one aligned line each, or one JSON object each.

With ``--break COND`` only the phases where a stop condition holds are printed, each
followed by the reason (text) or with a ``reason`` field (JSON lines)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..cli import positive_int
from .common import add_scenario_arguments, build_scenario
from .stops import add_break_arguments, conditions_from


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_scenario_arguments(parser)
    parser.add_argument("--iterations", type=positive_int, help="stop after N iterations")
    parser.add_argument("--format", choices=("text", "jsonl"), default="text")
    add_break_arguments(parser)


def main(args: argparse.Namespace) -> int:
    from ..engine import Command, Settings, Stepper, StopRun
    from ..engine.text_format import StreamWriter

    conditions = conditions_from(args)
    loop = build_scenario(args)
    writer = StreamWriter(sys.stdout, args.format)

    def every_phase(snapshot, reason):
        if reason == "start":  # with stop conditions the run starts in continue mode
            return Command.CONTINUE
        try:
            if not conditions:
                writer.write(snapshot)
            elif args.format == "jsonl":
                record = dict(snapshot.to_json(), reason=reason)
                sys.stdout.write(json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n")
            else:
                writer.write(snapshot)
                sys.stdout.write(f"  ^ {reason}\n")
        except BrokenPipeError:  # the reader went away (| head): stop quietly
            raise StopRun from None
        return Command.CONTINUE if conditions else Command.STEP

    stepper = Stepper(
        loop,
        controller=every_phase,
        max_iterations=args.iterations,
        settings=Settings(zero_grad=not args.no_zero_grad, lr=args.lr),
        pause_at_start=bool(conditions),
        conditions=conditions,
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
