"""Run a training loop for a few iterations without the app and print what looks wrong.

TARGET is a script (``train.py`` and its arguments after it), ``file.py:factory``,
``module:factory`` or a built-in scenario. One line per finding: id, severity, iteration,
file:line, message. Exit status: 1 if any finding is an error, 0 otherwise. Under torchrun
each rank checks its own run and exits so; rank 0 prints the report.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time

from ..targets import Kind, check_kind, session_for
from .options import (
    add_iterations,
    add_scenario_options,
    add_settings_options,
    add_target,
    run_options,
    target_of,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target(parser)
    add_iterations(parser, default=50)
    parser.add_argument("--format", choices=("text", "jsonl"), default="text")
    add_settings_options(parser)
    add_scenario_options(parser)


class Progress:
    """``iteration 12 of 50`` on a terminal's stderr, a few times a second (a real model's
    check takes a while); nothing when stderr is a file or a pipe."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.shown = 0.0
        try:
            self.on = sys.stderr.isatty() and os.environ.get("RANK", "0") == "0"
        except (AttributeError, ValueError):
            self.on = False

    def observe(self, event, stepper) -> None:
        if not self.on:
            return
        now = time.monotonic()
        if now - self.shown >= 0.25:
            self.shown = now
            sys.stderr.write(f"\rloopstep check: iteration {event.iteration + 1} of {self.total} ")
            sys.stderr.flush()

    def rewound(self, iteration: int, stepper) -> None:
        """A check never steps back."""

    def done(self) -> None:
        if self.on and self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def main(args: argparse.Namespace) -> int:
    from ..engine import Command
    from ..engine.diagnostics import Diagnostics
    from ..frontend import EXIT_OK
    from ..frontend.runner import run_headless

    target = target_of(args)
    check_kind(target, (Kind.SCENARIO, Kind.SCRIPT, Kind.FACTORY), "loopstep check")
    session = session_for(target, run_options(args, detail=False, build_now=True))
    diagnostics = Diagnostics(watch_activations=True, grad_every=1)  # a short run: check every backward
    progress = Progress(args.iterations)
    ranks = _rank_checks(diagnostics)
    stepper = session.new_stepper(
        controller=lambda snapshot, reason: Command.CONTINUE,
        observers=[diagnostics, progress] + ([ranks] if ranks is not None else []),
        history=0,
    )
    # A script's own prints go to stderr so that stdout holds only the findings (--format jsonl).
    with contextlib.redirect_stdout(sys.stderr):
        status = run_headless(stepper)
    progress.done()
    diagnostics.finish()
    if ranks is not None:
        ranks.finish()
        ranks.exchange.close()
        for rank in ranks.missing:
            sys.stderr.write(
                f"loopstep check: rank {rank} did not finish with rank 0 (still inside a "
                "collective?): its run is not compared\n"
            )
    # Under torchrun every rank checks its own run (and its exit status says so); rank 0 alone
    # prints the report, its own findings and the other ranks', so that it is one, not N
    # interleaved.
    out = sys.stdout if os.environ.get("RANK", "0") == "0" else open(os.devnull, "w")  # noqa: SIM115
    for finding in diagnostics.findings:
        out.write((json.dumps(finding.to_json()) if args.format == "jsonl" else finding.line()) + "\n")
    if status != EXIT_OK:
        return status
    if args.format == "text":
        errors = len(diagnostics.errors)
        count = len(diagnostics.findings)
        ran = stepper.last_event.iteration + 1 if stepper.last_event is not None else 0
        summary = (
            f"{count} finding{'s' * (count != 1)} ({errors} error{'s' * (errors != 1)})"
            if count
            else "no findings"
        )
        out.write(f"{summary} in {ran} iteration{'s' * (ran != 1)}\n")
    if ranks is not None and ranks.exchange.rank != 0:
        return 0  # its findings are in rank 0's report, and rank 0's exit status says them
    return 1 if diagnostics.errors or (ranks is not None and ranks.missing) else 0


def _rank_checks(diagnostics):
    """Under torchrun: the observer that compares this job's ranks (see engine/rank_checks)."""
    from ..engine.rank_checks import RankChecks
    from ..frontend.distributed import torchrun_place
    from ..frontend.rank_exchange import FileExchange

    place = torchrun_place()
    return RankChecks(FileExchange(place), diagnostics) if place is not None else None
