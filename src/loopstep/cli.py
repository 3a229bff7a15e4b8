"""The command line. Each command lives in ``loopstep.commands``; this module only parses.

Bad input exits 2 with one line on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__

#: command name -> module in loopstep.commands with ``add_arguments(parser)`` and ``main(args) -> int``
COMMANDS: dict[str, str] = {
    "demo": "open the app on a built-in scenario",
    "trace": "print every phase of a built-in scenario as text or JSON lines",
    "run": "step through your own PyTorch script, or module:factory",
    "replay": "step through a run recorded with --record",
    "export": "export a recording's losses as CSV",
    "serve": "serve the app to a web browser (127.0.0.1 by default)",
    "check": "run a training loop for a few iterations and report likely bugs",
}


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage block
        raise UsageError(f"{self.prog}: {message}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; ``only``: the command given, the one whose module is loaded for
    its arguments (the others stay unloaded, which keeps the app's first frame early)."""
    parser = _Parser(
        prog="loopstep",
        description="pdb for the training loop: forward, loss, backward, step, zero_grad — one phase at a time.",
    )
    parser.add_argument("--version", action="version", version=f"loopstep {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, help_text in COMMANDS.items():
        if only is not None and name != only:
            sub.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(f"loopstep.commands.{name}")
        command_parser = sub.add_parser(name, help=help_text, description=module.__doc__)
        module.add_arguments(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    given = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(given if given in COMMANDS else None)
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and not getattr(args, "_takes_rest", False):
            raise UsageError(f"loopstep: unrecognized arguments: {' '.join(extra)}")
        args.extra = extra
        if args.command is None:
            parser.print_help()
            return 2
        module = importlib.import_module(f"loopstep.commands.{args.command}")
        return int(module.main(args) or 0)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def int_arg(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


if __name__ == "__main__":
    sys.exit(main())
