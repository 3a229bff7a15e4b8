"""Export a recording's numbers: one CSV row per iteration (losses, validation loss, grad norm)."""

from __future__ import annotations

import argparse
import csv
import math
import sys

from ..targets import open_recording
from .args import UsageError

COLUMNS = ("iteration", "epoch", "batch", "loss", "val_loss", "grad_norm")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="a file written with --record")
    parser.add_argument("--csv", metavar="FILE", help="write the losses as CSV to FILE ('-' for stdout)")


def rows(recording) -> list[dict]:
    """One row per recorded iteration; grad_norm is ‖∇‖ over all parameters after backward."""
    from ..engine.phases import Phase
    from ..engine.summary import TensorSummary

    out: list[dict] = []
    by_iteration: dict[int, dict] = {}
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
            row["grad_norm"] = math.sqrt(total)
    return out


def main(args: argparse.Namespace) -> int:
    if not args.csv:
        raise UsageError("loopstep: export needs a format: --csv FILE (or --csv - for stdout)")
    recording = open_recording(args.path)
    table = rows(recording)
    try:
        handle = sys.stdout if args.csv == "-" else open(args.csv, "w", newline="")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"loopstep: cannot write {args.csv}: {exc.strerror or exc}") from None
    try:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
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
