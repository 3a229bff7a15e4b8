"""Argument types and the usage error of the command line: bad input is one line, exit 2."""

from __future__ import annotations

import argparse


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


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


class OptionalValue(argparse.Action):
    """An option whose value may be left out (``--listen``, ``--listen tcp:HOST:PORT``): the
    token after it is its value only when ``claims(token)``; else the option stands alone
    (``--listen train.py``: the script is the target, not the value)."""

    def __init__(self, *args, claims, **kwargs) -> None:
        super().__init__(*args, nargs="?", **kwargs)
        self.claims = claims

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        setattr(namespace, self.dest, values)
