"""Serve the app to a web browser (textual-serve): ``loopstep serve demo``, ``serve replay PATH``.

Bound to 127.0.0.1 unless --host says otherwise: anyone who can reach the port can drive
the run (and a script's code runs on this machine), so reach it through an SSH tunnel.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from ..frontend.addresses import is_loopback
from .args import UsageError

#: The commands that open the app, and so can be served.
SERVABLE = ("demo", "run", "replay", "attach")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=8000, help="port (default 8000)")
    parser.add_argument(
        "app",
        nargs=argparse.REMAINDER,
        metavar="COMMAND ...",
        help="demo (default), run SCRIPT, replay PATH or attach PID, with their arguments",
    )
    parser.set_defaults(_takes_rest=True)


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {value}")
    return value


def served_command(app: list[str]) -> str:
    """The command line textual-serve starts for each browser connection."""
    from . import COMMANDS

    app = list(app) or ["demo"]
    if app[0] not in SERVABLE:
        raise UsageError(f"loopstep: serve runs one of: {', '.join(SERVABLE)}; got {app[0]!r}")
    if app[0] not in COMMANDS:
        raise UsageError(f"loopstep: {app[0]} is not available in this install")
    if "--no-tui" in app:
        raise UsageError("loopstep: serve shows the app; drop --no-tui")
    if app[0] == "attach":
        app = ["attach", "--web", *app[1:]]  # the app draws in the run's process: this relays it
    return shlex.join([sys.executable, "-m", "loopstep", *app])


def check_attachable(attach_args: list[str]) -> None:
    """``serve attach PID``: the run is there (and a TCP one has its token) before any browser comes."""
    from ..frontend.addresses import TcpAddress
    from ..frontend.attach import TOKEN_VARIABLE, AttachError, choose_run
    from .attach import add_arguments

    parser = argparse.ArgumentParser(prog="loopstep serve attach", add_help=False)
    add_arguments(parser)
    try:
        parsed = parser.parse_args(attach_args)
    except SystemExit:
        raise UsageError(
            f"loopstep: serve attach takes PID or tcp:HOST:PORT, got {shlex.join(attach_args)}"
        ) from None
    if isinstance(parsed.pid, TcpAddress):
        if not (parsed.token or os.environ.get(TOKEN_VARIABLE)):
            raise UsageError(f"loopstep: {parsed.pid} needs the run's token (--token, or {TOKEN_VARIABLE})")
        return
    try:
        choose_run(parsed.pid)
    except AttachError as exc:
        raise UsageError(str(exc)) from None


def main(args: argparse.Namespace) -> int:
    app = list(args.app) + list(getattr(args, "extra", []) or [])
    if app and app[0] == "--":
        app = app[1:]
    command = served_command(app)
    if app and app[0] == "replay":
        from ..targets import open_recording

        if len(app) < 2:
            raise UsageError("loopstep: serve replay needs the recording's PATH")
        open_recording(app[1])  # a bad file fails here, not in the browser
    if app and app[0] == "attach":
        check_attachable(app[1:])
    try:
        from textual_serve.server import Server
    except ImportError:
        raise UsageError("loopstep: serve needs textual-serve: pip install 'loopstep[serve]'") from None
    if not is_loopback(args.host):
        print(
            f"loopstep: warning: serving on {args.host}, not loopback: anyone who reaches port "
            f"{args.port} can drive this run; prefer an SSH tunnel to 127.0.0.1",
            file=sys.stderr,
        )
    print(f"loopstep: serving {' '.join(app) or 'demo'} at http://{args.host}:{args.port}", file=sys.stderr)
    Server(command, host=args.host, port=args.port, title="loopstep").serve()
    return 0
