"""The command line. Each command lives in ``loopstep.commands``; this module only parses.

Bad input exits 2 with one line on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .commands import COMMANDS
from .commands.args import OptionalValue, UsageError
from .version import __version__


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)  # `--iter` is not `--iterations`: no guessing
        super().__init__(*args, **kwargs)

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


def split_script_args(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[list[str], list[str]]:
    """loopstep's own arguments, and those of a script target: everything after the script.

    The target is the first positional argument (options before it are loopstep's, with
    their values); a target that is not a script takes loopstep's options after it too.
    """
    from .targets import Kind, TargetError, classify

    index = 0
    while index < len(argv):
        token = argv[index]
        if token == "--":
            del argv[index]  # `loopstep run -- -odd-name.py`: what follows is the target
        elif token.startswith("-") and token != "-":
            action = parser._option_string_actions.get(token.split("=", 1)[0])
            takes_value = action is not None and action.nargs != 0 and "=" not in token
            if takes_value and isinstance(action, OptionalValue):
                following = argv[index + 1] if index + 1 < len(argv) else ""
                if not action.claims(following):
                    argv[index] = f"{token}={action.const}"  # `--listen train.py`: the script is no value
                    takes_value = False
            index += 2 if takes_value else 1
            continue
        if index >= len(argv):
            break
        try:
            is_script = classify(argv[index]).kind is Kind.SCRIPT
        except TargetError:
            is_script = False
        if is_script:
            return argv[: index + 1], argv[index + 1 :]
        break
    return argv, []


def main(argv: Sequence[str] | None = None) -> int:
    """The command line's entry point; returns the exit status (see loopstep.frontend.exits)."""
    from .frontend.exits import FrontendError
    from .targets import TargetError

    argv = list(sys.argv[1:] if argv is None else argv)
    command_line = list(argv)
    given = next((a for a in argv if not a.startswith("-")), None)
    try:
        parser = build_parser(given if given in COMMANDS else None)
        script_args: list[str] = []
        if given in COMMANDS:
            command_parser = parser._subparsers._group_actions[0].choices[given]  # noqa: SLF001
            if command_parser.get_default("_script_target"):
                position = argv.index(given)
                own, script_args = split_script_args(command_parser, argv[position + 1 :])
                argv = argv[: position + 1] + own
        args, extra = parser.parse_known_args(argv)
        if extra and not getattr(args, "_takes_rest", False):
            target = getattr(args, "target", None)
            if target is not None and not extra[0].startswith("-"):
                raise UsageError(
                    f"loopstep: arguments after {target!r} are only for scripts: {' '.join(extra)}"
                )
            raise UsageError(f"loopstep: unrecognized arguments: {' '.join(extra)}")
        args.extra = extra
        args.command_line = command_line
        args.script_args = script_args
        if args.command is None:
            parser.print_help()
            return 2
        module = importlib.import_module(f"loopstep.commands.{args.command}")
        return int(module.main(args) or 0)
    except (UsageError, TargetError, FrontendError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - loopstep's own failure: a report, never exit 0
        from .frontend.crash import report_crash

        return report_crash(exc, context=f"loopstep {' '.join(argv)}")


if __name__ == "__main__":
    sys.exit(main())
