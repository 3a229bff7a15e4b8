"""Run a training loop for a few iterations without a UI and print what looks wrong.

TARGET is a script (``train.py`` and its arguments after it), ``module:factory``, or a
built-in scenario. One line per finding: id, severity, iteration, file:line, message.
Exit status: 1 if any finding is an error, 0 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import sys

from ..cli import UsageError, positive_float, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--iterations", type=positive_int, default=50, help="iterations to run (default 50)")
    parser.add_argument("--format", choices=("text", "jsonl"), default="text")
    parser.add_argument(
        "--no-zero-grad", action="store_true", help="scenarios only: skip optimizer.zero_grad()"
    )
    parser.add_argument("--lr", type=positive_float, help="scenarios only: learning rate")
    parser.add_argument("target", help="SCRIPT.py [ARGS], module:factory, or a scenario (linreg, mlp)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")


def make_source(args: argparse.Namespace):
    """The source of phases for TARGET."""
    target: str = args.target
    if target.endswith(".py"):
        return _script_source(target, args.args)
    if args.args:
        raise UsageError(f"loopstep: arguments after {target!r} are only for scripts: {' '.join(args.args)}")
    if ":" in target:
        return factory_source(target)
    from ..scenarios import ScenarioError, build

    try:
        return build(target, lr=args.lr)
    except ScenarioError as exc:
        raise UsageError(f"loopstep: {exc}; or give SCRIPT.py or module:factory") from None


def _script_source(path: str, argv: list[str]):
    import os

    if not os.path.isfile(path):
        raise UsageError(f"loopstep: no such script: {path}")
    try:
        from ..backends.torch.intercept import ScriptSource
    except ImportError as exc:
        if "intercept" in str(exc):
            raise UsageError(
                "loopstep: checking a script needs `loopstep run`, which this install lacks"
            ) from None
        raise UsageError("loopstep: checking a script needs PyTorch: pip install 'loopstep[torch]'") from None
    return ScriptSource(path, argv, detail=False)


def factory_source(spec: str):
    """``module:factory`` → an OwnedLoop. The factory returns one, or
    ``(model, optimizer, loss_fn, batches[, epochs])`` with ``batches`` a list of (x, y)."""
    from ..engine.owned_loop import BatchPlan, OwnedLoop

    module_name, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"loopstep: cannot load {spec!r}: {exc}") from None
    made = factory()
    if isinstance(made, OwnedLoop):
        return made
    from ..backends.torch import TorchBackend

    model, optimizer, loss_fn, batches, *rest = made
    batches = list(batches)
    plan = BatchPlan(
        train=lambda epoch: batches, epochs=rest[0] if rest else 1000, batches_per_epoch=len(batches)
    )
    return OwnedLoop(TorchBackend(model, optimizer, loss_fn), plan, spec)


def main(args: argparse.Namespace) -> int:
    from ..engine import Command, Settings, Stepper
    from ..engine.diagnostics import Diagnostics

    source = make_source(args)
    diagnostics = Diagnostics(watch_activations=True, grad_every=1)  # a short run: check every backward
    stepper = Stepper(
        source,
        controller=lambda snapshot, reason: Command.CONTINUE,
        max_iterations=args.iterations,
        settings=Settings(zero_grad=not args.no_zero_grad, lr=args.lr),
        observers=[diagnostics],
    )
    # A script's own prints go to stderr so that stdout holds only the findings (--format jsonl).
    with contextlib.redirect_stdout(sys.stderr):
        stepper.run()
    diagnostics.finish()
    out = sys.stdout
    for finding in diagnostics.findings:
        out.write((json.dumps(finding.to_json()) if args.format == "jsonl" else finding.line()) + "\n")
    if stepper.error is not None:
        sys.stderr.write(stepper.error.traceback)
        sys.stderr.write(f"loopstep: the training code raised {stepper.error.summary}\n")
        return 1
    if args.format == "text":
        errors = len(diagnostics.errors)
        count = len(diagnostics.findings)
        ran = stepper.last_event.iteration + 1 if stepper.last_event is not None else 0
        summary = (
            f"{count} finding{'s' * (count != 1)} ({errors} error{'s' * (errors != 1)})"
            if count
            else "no findings"
        )
        out.write(f"{summary} in {ran} iterations\n")
    return 1 if diagnostics.errors else 0
