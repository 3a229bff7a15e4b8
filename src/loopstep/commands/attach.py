"""Attach to a run started with ``loopstep run --listen`` (PID: the only one when omitted).

``--no-tui`` streams its phases as ``loopstep run --no-tui`` prints them, stepping the run
one phase at a time for ``--iterations N`` iterations (default: to its end), then detaches;
the run carries on at full speed with its stop conditions armed.
"""

from __future__ import annotations

import argparse

from .args import UsageError, positive_int


def _run_named(text: str):
    from ..frontend.addresses import tcp_address

    return tcp_address(text) if text.startswith("tcp:") else positive_int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "pid",
        nargs="?",
        type=_run_named,
        metavar="PID|tcp:HOST:PORT",
        help="the run's pid (see loopstep ls), or the TCP address it printed",
    )
    parser.add_argument("--token", help="the token a run listening on TCP printed (or set LOOPSTEP_TOKEN)")
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
    parser.add_argument("--web", action="store_true", help=argparse.SUPPRESS)  # what serve attach starts


def main(args: argparse.Namespace) -> int:
    from ..frontend.attach import attach_app, relay_attached, stream_attached

    if args.web:
        return relay_attached(args.pid, no_pause=args.no_pause, token=args.token)
    if not args.no_tui:
        if args.iterations is not None or args.format != "text":
            raise UsageError("loopstep attach: --iterations and --format go with --no-tui")
        return attach_app(args.pid, no_pause=args.no_pause, token=args.token)
    return stream_attached(args.pid, fmt=args.format, iterations=args.iterations, token=args.token)
