"""Step through a recorded run: the same panes and keys as the live run, or its text stream."""

from __future__ import annotations

import argparse
import sys

from ..targets import Kind, Target, open_recording
from .args import UsageError
from .options import add_break_options, add_text_options, add_watch_option
from .start import start, text_mode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="PATH", help="a file written with --record")
    add_text_options(parser)
    add_break_options(parser)
    add_watch_option(parser)
    parser.add_argument(
        "--compare",
        action="append",
        metavar="PATH",
        default=[],
        help="another recording whose training loss curve the chart draws beside this one's (repeatable)",
    )


def main(args: argparse.Namespace) -> int:
    if args.format is not None:
        args.no_tui = True  # --format alone asks for the text stream
    text = text_mode(args)
    if text and args.compare:
        raise UsageError(
            "loopstep replay: --compare draws in the app's loss chart: leave out --no-tui/--format"
        )
    status = start(args, "replay", (Kind.RECORDING,), text=text, target=Target(Kind.RECORDING, args.target))
    if text:
        print(f"loopstep: {open_recording(args.target).stop_note()}", file=sys.stderr)
    return status
