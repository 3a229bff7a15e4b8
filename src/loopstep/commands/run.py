"""Step through your own training: a PyTorch script run unmodified (SCRIPT.py [ARGS...]),
an experiment from a factory (file.py:factory or module.path:factory), a built-in
scenario or a recording."""

from __future__ import annotations

import argparse
import os
import sys

from ..targets import Kind, check_kind
from .args import UsageError, positive_int
from .options import (
    add_break_options,
    add_history_options,
    add_iterations,
    add_listen_option,
    add_record_options,
    add_scenario_options,
    add_settings_options,
    add_target,
    add_text_options,
    add_watch_option,
    target_of,
)
from .start import start, text_mode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target(parser)
    parser.add_argument(
        "--nproc",
        type=positive_int,
        metavar="N",
        help="run N ranks on this machine with torch's launcher (torchrun --standalone): one app, on rank 0",
    )
    add_text_options(parser)
    add_iterations(parser)
    add_settings_options(parser)
    add_scenario_options(parser)
    add_break_options(parser)
    add_watch_option(parser)
    add_listen_option(parser)
    add_record_options(parser)
    add_history_options(parser)


def main(args: argparse.Namespace) -> int:
    if args.nproc is not None:
        return launch_ranks(args)
    return start(args, "run", tuple(Kind), text=text_mode(args))


def _check_before_launching(args: argparse.Namespace) -> None:
    """Bad input is one line here, not N ranks failing with it inside torchrun."""
    from ..targets import check_script, check_writable, parse_breaks, parse_watches

    target = target_of(args)
    check_kind(target, (Kind.SCRIPT,), "loopstep run --nproc")
    check_script(target.spec)
    parse_breaks(list(args.breaks or []))
    parse_watches(list(args.watches or []))
    if args.record is not None:
        check_writable(args.record)


def launch_ranks(args: argparse.Namespace) -> int:
    """``--nproc N``: this same command line, without --nproc, under torch's own elastic
    launcher, in this process (exec): its ranks, its signals, its exit status."""
    if "WORLD_SIZE" in os.environ:
        raise UsageError("loopstep: --nproc starts torchrun; under torchrun already, drop it")
    _check_before_launching(args)
    line = list(args.command_line)
    own = line[: len(line) - len(args.script_args)]  # a script's own --nproc stays its own
    kept, skip = [], False
    for token in own:
        if skip:
            skip = False
        elif token == "--nproc":
            skip = True
        elif not token.startswith("--nproc="):
            kept.append(token)
    launcher = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={args.nproc}",
    ]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [*launcher, "-m", "loopstep", *kept, *args.script_args])
    return 0  # not reached
