"""Step through a recorded run: the same panes and keys as the live run, or its text stream."""

from __future__ import annotations

import argparse
import sys

from .common import open_app, open_recording, require_terminal, stream_session


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="a file written with --record")
    parser.add_argument("--no-tui", action="store_true", help="print every phase instead of opening the app")
    parser.add_argument(
        "--format", choices=("text", "jsonl"), help="text (default) or jsonl; implies --no-tui"
    )


def main(args: argparse.Namespace) -> int:
    from ..engine.recording import replay_session

    text_mode = args.no_tui or args.format is not None
    if not text_mode:
        require_terminal("loopstep replay")
    recording = open_recording(args.path)
    session = replay_session(recording)
    if not text_mode:
        return open_app(session, "loopstep replay")
    status = stream_session(session, args.format or "text")
    print(f"loopstep: {recording.stop_note()}", file=sys.stderr)
    return status
