"""The command-line options every command that runs a target shares, written once.

The same option means the same thing wherever it appears, and the same rule places them:
loopstep's options go before or after the target, except after a script, whose own
arguments are everything that follows it (``loopstep run --iterations 5 train.py --lr 1``).
"""

from __future__ import annotations

import argparse

from ..targets import RunOptions, Target, classify
from .args import OptionalValue, int_arg, positive_float, positive_int


def _history(text: str) -> int:
    value = int_arg(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 (off) or more iterations, got {value}")
    return value


def add_target(parser: argparse.ArgumentParser, *, default: str | None = None, scripts: bool = True) -> None:
    what = "SCRIPT.py [ARGS], file.py:factory, module:factory, a scenario or a recording"
    if default is not None:
        parser.add_argument("target", nargs="?", default=default, metavar="TARGET", help=f"default {default}")
    else:
        parser.add_argument("target", metavar="TARGET", help=what)
    if scripts:
        parser.set_defaults(_script_target=True)


def add_scenario_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("built-in scenarios")
    group.add_argument(
        "--backend", choices=("numpy", "torch"), help="default: numpy for linreg, torch for mlp"
    )
    group.add_argument("--seed", type=int_arg, help="seed for data and weights (default 0)")
    group.add_argument("--epochs", type=positive_int, help="number of epochs (default: the scenario's)")


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-zero-grad", action="store_true", help="skip zero_grad: gradients pile up in .grad"
    )
    parser.add_argument("--lr", type=positive_float, help="learning rate (set in every optimizer)")


def add_iterations(parser: argparse.ArgumentParser, default: int | None = None) -> None:
    text = f"iterations to run (default {default})" if default else "end the run after N iterations"
    parser.add_argument("--iterations", type=positive_int, default=default, metavar="N", help=text)


def add_break_options(parser: argparse.ArgumentParser, *, on_stop: bool = True) -> None:
    parser.add_argument(
        "--break",
        dest="breaks",
        action="append",
        default=[],
        metavar="COND",
        help="stop when COND holds (repeatable): phase=step, iteration=40, epoch=2, nan, "
        "grad_norm>10, grad_norm[fc1.weight]>1, loss>3x_median, update_ratio>1e-2",
    )
    if on_stop:
        parser.add_argument(
            "--on-stop",
            choices=("stop", "continue", "wait"),
            default=None,
            help="text mode: at a stop condition, end the run there with exit status 3 (stop, "
            "default) or print it and go on (continue); with --listen: wait for an attach "
            "(wait, default) or go on (continue)",
        )


def add_listen_option(parser: argparse.ArgumentParser) -> None:
    from ..frontend.addresses import claims_address, listen_address

    parser.add_argument(
        "--listen",
        action=OptionalValue,
        claims=claims_address,
        const="unix",
        type=listen_address,
        metavar="tcp:HOST:PORT",
        help="run at full speed with the stop conditions armed; loopstep attach PID steps it "
        "(tcp:HOST:PORT: also there, for a client with the token it prints)",
    )
    parser.add_argument(
        "--listen-non-loopback",
        action="store_true",
        help="allow --listen on an address other machines reach (in clear text: prefer an SSH tunnel)",
    )


def add_watch_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--watch",
        dest="watches",
        action="append",
        metavar="EXPR",
        help="an expression shown at every pause (repeatable), e.g. --watch 'loss.item()'",
    )


def add_history_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--history", type=_history, metavar="K", help="iterations step back can reach (default 32)"
    )
    parser.add_argument(
        "--history-mb",
        type=positive_float,
        metavar="MB",
        help="memory cap for step-back checkpoints (default 512)",
    )


def add_record_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--record", metavar="PATH", help="record every phase to PATH (replay it later)")
    parser.add_argument(
        "--record-tensors",
        choices=("summary", "small", "all"),
        default="small",
        help="values of tensors up to 65536 elements (small, default), of all, or summaries only",
    )


def add_text_options(parser: argparse.ArgumentParser, *, always: bool = False) -> None:
    """The text stream: ``--no-tui`` chooses it (unless the command always prints text)."""
    if not always:
        parser.add_argument(
            "--no-tui", action="store_true", help="print the phases instead of opening the app"
        )
    parser.add_argument("--format", choices=("text", "jsonl"), help="text (default) or jsonl")
    parser.add_argument("--output", metavar="FILE", help="write the stream here, not to stdout")
    parser.add_argument(
        "--continue",
        dest="keep_going",
        action="store_true",
        help="do not stop at each phase; print only the final state (and stop conditions): "
        "with no --break, the script runs at the bare loop's speed",
    )


def target_of(args: argparse.Namespace) -> Target:
    return classify(args.target, tuple(getattr(args, "script_args", ()) or ()))


def run_options(args: argparse.Namespace, *, detail: bool = True, build_now: bool = False) -> RunOptions:
    """The RunOptions the parsed arguments give (options a command lacks stay unset)."""
    get = getattr
    return RunOptions(
        backend=get(args, "backend", None),
        seed=get(args, "seed", None),
        epochs=get(args, "epochs", None),
        zero_grad=not get(args, "no_zero_grad", False),
        lr=get(args, "lr", None),
        iterations=get(args, "iterations", None),
        breaks=list(get(args, "breaks", []) or []),
        watches=list(get(args, "watches", []) or []),
        history=get(args, "history", None),
        history_mb=get(args, "history_mb", None),
        record=_own_recording(get(args, "record", None)),
        record_tensors=get(args, "record_tensors", "small"),
        record_rank=_rank_of_job(),
        compare=list(get(args, "compare", []) or []),
        compare_backends=bool(get(args, "compare_backends", False)),
        detail=detail,
        build_now=build_now,
    )


def _own_recording(path: str | None) -> str | None:
    """Under torchrun each rank records to a file of its own (see RankPlace.own_recording)."""
    from ..frontend.distributed import torchrun_place

    place = torchrun_place() if path else None
    return place.own_recording(path) if place is not None and path else path


def _rank_of_job() -> tuple[int, int] | None:
    from ..frontend.distributed import torchrun_place

    place = torchrun_place()
    return (place.rank, place.world_size) if place is not None else None
