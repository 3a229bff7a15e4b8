"""Arguments and helpers shared by the commands that run a built-in scenario."""

from __future__ import annotations

import argparse

from ..cli import UsageError, int_arg, positive_float, positive_int


def add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", nargs="?", default="linreg", help="linreg (default) or mlp")
    parser.add_argument(
        "--backend", choices=("numpy", "torch"), help="default: numpy for linreg, torch for mlp"
    )
    parser.add_argument(
        "--no-zero-grad", action="store_true", help="skip optimizer.zero_grad(): gradients pile up"
    )
    parser.add_argument("--lr", type=positive_float, help="learning rate (default: the scenario's)")
    parser.add_argument("--seed", type=int_arg, default=0, help="seed for data and weights (default 0)")
    parser.add_argument("--epochs", type=positive_int, help="number of epochs (default: the scenario's)")


def build_scenario(args: argparse.Namespace):
    from ..scenarios import ScenarioError, build

    try:
        return build(args.scenario, args.backend, seed=args.seed, lr=args.lr, epochs=args.epochs)
    except ScenarioError as exc:
        raise UsageError(f"loopstep: {exc}") from None
    except ImportError as exc:
        if "torch" in str(exc):
            raise UsageError(
                "loopstep: the torch backend needs PyTorch: pip install 'loopstep[torch]'"
            ) from None
        raise
