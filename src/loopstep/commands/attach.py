"""Attach to a run started with ``loopstep run --listen`` (PID: the only one when omitted).

``--no-tui`` streams its phases as ``loopstep run --no-tui`` prints them, stepping the run
one phase at a time for ``--iterations N`` iterations (default: to its end), then detaches;
the run carries on at full speed with its stop conditions armed.
"""

from __future__ import annotations

import argparse

from .args import UsageError, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "pid", nargs="?", type=positive_int, metavar="PID", help="the run's pid (see loopstep ls)"
    )
    parser.add_argument("--no-tui", action="store_true", help="print the phases instead of opening the app")
    parser.add_argument(
        "--no-pause", action="store_true", help="the app: watch the run go on (s, n, e or c pauses it)"
    )
    parser.add_argument(
        "--format", choices=("text", "jsonl"), default="text", help="--no-tui: text (default) or jsonl"
    )
    parser.add_argument(
        "--iterations", type=positive_int, metavar="N", help="stream N iterations, then detach"
    )


def main(args: argparse.Namespace) -> int:
    from ..frontend.attach import attach_app, stream_attached

    if not args.no_tui:
        if args.iterations is not None or args.format != "text":
            raise UsageError("loopstep attach: --iterations and --format go with --no-tui")
        return attach_app(args.pid, no_pause=args.no_pause)
    return stream_attached(args.pid, fmt=args.format, iterations=args.iterations)
