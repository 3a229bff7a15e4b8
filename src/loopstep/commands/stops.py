"""``--break`` and ``--history`` options, shared by the commands that step a run."""

from __future__ import annotations

import argparse

from ..cli import UsageError, int_arg, positive_float


def _history(text: str) -> int:
    value = int_arg(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 (off) or more iterations, got {value}")
    return value


def add_break_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--break",
        dest="breaks",
        action="append",
        default=[],
        metavar="COND",
        help="stop when COND holds (repeatable): phase=step, iteration=40, epoch=2, nan, "
        "grad_norm>10, grad_norm[fc1.weight]>1, loss>3x_median, update_ratio>1e-2",
    )


def add_history_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--history",
        type=_history,
        default=32,
        metavar="K",
        help="iterations step back can reach (default 32)",
    )
    parser.add_argument(
        "--history-mb",
        type=positive_float,
        default=512.0,
        metavar="MB",
        help="memory cap for step-back checkpoints (default 512)",
    )


def conditions_from(args: argparse.Namespace) -> list:
    """The parsed ``--break`` conditions; a bad one is a one-line usage error."""
    texts = getattr(args, "breaks", []) or []
    if not texts:
        return []  # nothing to parse: the parser and its probes stay unloaded
    from ..engine.breakpoints import ConditionError, parse_conditions

    try:
        return parse_conditions(texts)
    except ConditionError as exc:
        raise UsageError(f"loopstep: --break {exc}") from None


def apply_to_session(session, args: argparse.Namespace) -> None:
    """Carry ``--break``, ``--history`` and ``--history-mb`` into a Session (absent ones keep its defaults)."""
    session.conditions = conditions_from(args)
    if getattr(args, "history", None) is not None:
        session.history = args.history
    if getattr(args, "history_mb", None) is not None:
        session.history_mb = args.history_mb
