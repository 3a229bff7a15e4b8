"""Export a recording's numbers: one CSV row per iteration — the loss, the validation loss,
the gradient norm after backward (all parameters, then each one: ``grad_norm[fc1.weight]``),
the learning rate and the update-to-weight ratio of the iteration's step (the metrics the
app charts, measured by the same code over a replay of the recording)."""

from __future__ import annotations

import argparse
import csv
import math
import sys

from ..targets import open_recording
from .args import UsageError

COLUMNS = ("iteration", "epoch", "batch", "loss", "val_loss", "grad_norm")
#: After the per-parameter norms: the step's metrics, from a replay.
STEP_COLUMNS = ("lr", "update_ratio")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="a file written with --record")
    parser.add_argument("--csv", metavar="FILE", help="write the losses as CSV to FILE ('-' for stdout)")


def rows(recording) -> tuple[list[dict], list[str]]:
    """One row per recorded iteration, and the columns; grad_norm is ‖∇‖ over all
    parameters after backward, grad_norm[name] each parameter's."""
    from ..engine.phases import Phase
    from ..engine.summary import TensorSummary

    out: list[dict] = []
    by_iteration: dict[int, dict] = {}
    params: dict[str, None] = {}  # in the order first seen
    for recorded in recording.phases:
        event = recorded.event
        row = by_iteration.get(event.iteration)
        if row is None:
            row = dict.fromkeys(COLUMNS, "")
            row.update(iteration=event.iteration, epoch=event.epoch, batch=event.batch)
            by_iteration[event.iteration] = row
            out.append(row)
        if event.phase is Phase.LOSS and event.loss is not None:
            row["loss"] = event.loss
        elif event.phase is Phase.VALIDATE and event.loss is not None:
            row["val_loss"] = event.loss
        elif event.phase is Phase.BACKWARD:
            total = 0.0
            for name, value in recorded.arrays.items():
                if not name.endswith(".grad") or value is None:
                    continue
                norm = (
                    value.norm
                    if isinstance(value, TensorSummary)
                    else float(math.sqrt(float((value.astype("float64") ** 2).sum())))
                )
                total += norm * norm
                param = name.removesuffix(".grad")
                params.setdefault(param)
                row[f"grad_norm[{param}]"] = norm
            row["grad_norm"] = math.sqrt(total)
    for iteration, metrics in step_metrics(recording).items():
        if iteration in by_iteration:
            by_iteration[iteration].update(metrics)
    columns = [*COLUMNS, *(f"grad_norm[{name}]" for name in params), *STEP_COLUMNS]
    return out, columns


def step_metrics(recording) -> dict[int, dict[str, float]]:
    """The learning rate and update ratio of each iteration's step, as the app measures them
    (engine/metrics.py) over a replay of the recording."""
    from dataclasses import replace

    from ..engine.control import Command
    from ..engine.metrics import LR, UPDATE_RATIO
    from ..engine.recording.replay import replay_session

    session = replace(replay_session(recording), diagnose=False)
    stepper = session.new_stepper(controller=lambda snapshot, reason: Command.CONTINUE, history=0)
    stepper.metrics.dense = True
    stepper.run()
    out: dict[int, dict[str, float]] = {}
    for column, name in (("lr", LR), ("update_ratio", UPDATE_RATIO)):
        for point in stepper.metrics.series.get(name, ()):
            out.setdefault(point.iteration, {})[column] = point.value
    return out


def main(args: argparse.Namespace) -> int:
    if not args.csv:
        raise UsageError("loopstep: export needs a format: --csv FILE (or --csv - for stdout)")
    recording = open_recording(args.path)
    table, columns = rows(recording)
    try:
        handle = sys.stdout if args.csv == "-" else open(args.csv, "w", newline="")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"loopstep: cannot write {args.csv}: {exc.strerror or exc}") from None
    try:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(table)
    finally:
        if handle is not sys.stdout:
            handle.close()
    if args.csv != "-":
        print(f"loopstep: {len(table)} iterations written to {args.csv}", file=sys.stderr)
    if recording.cut_off:
        print(f"loopstep: {recording.stop_note()}", file=sys.stderr)
    return 0
