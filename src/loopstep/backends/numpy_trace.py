"""The NumPy loop's computation trace: its formulas with numbers, and the backward graph.

Every number on a formula line is the one that phase computed with, kept when the phase ran
(:class:`IterationRecord`), never read back from the live parameters, ``.grad`` or learning
rate afterwards: those move on (the step changes w, zero_grad clears ``.grad``, a new learning
rate may be set at any pause), and a line rebuilt from them shows arithmetic that never
happened. A phase that has not run yet in this iteration has no line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..engine.summary import count, fmt, summarize_array
from ..engine.trace import GraphNode

#: The linreg loop's parameters, in the order the lines show them.
NAMES = ("w", "b")


@dataclass(frozen=True)
class StepRecord:
    """What one step did: ``after = before − lr·grad`` for each parameter."""

    before: dict[str, float]
    lr: float
    grad: dict[str, float]  # the .grad the step used: a sum when zero_grad was skipped
    after: dict[str, float]
    passes: int  # backward passes summed in that .grad


@dataclass
class IterationRecord:
    """What this iteration's phases computed, filled in phase by phase (a new one per batch)."""

    forward: dict[str, float] | None = None  # w, b the forward used
    loss: float | None = None
    grads: dict[str, float] | None = None  # this backward's dL/dw, dL/db
    held: dict[str, float] | None = None  # .grad before this backward added to it
    passes: int = 0  # passes summed in .grad once this backward has added its part
    step: StepRecord | None = None
    zeroed: bool = False  # zero_grad reset .grad (the loop does not call it when it is off)
    validate: tuple[dict[str, float], float] | None = None  # (w, b used, validation loss)
    #: This backward's gradients as arrays, for the graph's leaves.
    batch_grads: dict[str, np.ndarray] = field(default_factory=dict)


def scalars(arrays: dict[str, np.ndarray | None]) -> dict[str, float]:
    """The one-element parameters (or grads) as floats; a missing grad counts as 0."""
    return {name: 0.0 if value is None else float(value.reshape(-1)[0]) for name, value in arrays.items()}


def formulas(record: IterationRecord) -> tuple[str, ...]:
    """The lines of the phases that have run, each with the numbers it was computed with."""
    lines: list[str] = []
    if record.forward is not None:
        w, b = (record.forward[n] for n in NAMES)
        lines.append(f"pred  = w·x + b                 w = {fmt(w)}, b = {fmt(b)}")
    if record.loss is not None:
        lines.append(f"L     = mean((pred − y)²)       = {fmt(record.loss)}")
    if record.grads is not None:
        lines.append(f"dL/dw = 2·mean((pred − y)·x)    = {fmt(record.grads['w'])}")
        lines.append(f"dL/db = 2·mean(pred − y)        = {fmt(record.grads['b'])}")
        if record.passes > 1 and record.held is not None:
            for name in NAMES:
                held, part = record.held[name], record.grads[name]
                lines.append(
                    f"{name}.grad = {name}.grad + dL/d{name} = {fmt(held)} + {_factor(part)}"
                    f" = {fmt(held + part)}   (sum of {count(record.passes, 'pass')})"
                )
    if record.step is not None:
        lines += _step_lines(record.step)
    if record.zeroed:
        lines.append("w.grad, b.grad ← 0                (zero_grad)")
    if record.validate is not None:
        used, val_loss = record.validate
        lines.append(
            f"val L = mean((w·x_val + b − y_val)²) = {fmt(val_loss)}   w = {fmt(used['w'])}, b = {fmt(used['b'])}"
        )
    return tuple(lines)


def _step_lines(step: StepRecord) -> list[str]:
    summed = f"   (.grad: sum of {count(step.passes, 'pass')})" if step.passes > 1 else ""
    lines = []
    for name in NAMES:
        before, after = _pair(step.before[name], step.after[name])
        lines.append(
            f"{name} ← {name} − lr·{name}.grad = {before} − {_lr(step.lr)}·{_factor(step.grad[name])}"
            f" = {after}{summed}"
        )
    return lines


def _factor(value: float) -> str:
    """A number that follows an operator: negatives in parentheses, so ``0.1·(-23.72)`` reads right."""
    text = fmt(value)
    return f"({text})" if text.startswith("-") else text


def _lr(lr: float) -> str:
    """The learning rate as set (0.1, 0.05, 3e-4), not rounded to four digits."""
    return format(lr, ".12g")


def _pair(before: float, after: float) -> tuple[str, str]:
    """The parameter before and after a step, with digits enough to show that it moved.

    Four significant digits hide a late step (1.998 − 0.1·0.0012 = 1.998): when the change is
    below what they show, both numbers get the digits that show it to two places.
    """
    size = max(abs(before), abs(after))
    delta = abs(after - before)
    if not (math.isfinite(size) and math.isfinite(delta)) or delta == 0 or delta >= size * 1e-3:
        return fmt(before), fmt(after)
    digits = min(15, math.ceil(math.log10(size / delta)) + 2)
    return format(before, f".{digits}g"), format(after, f".{digits}g")


def graph(record: IterationRecord) -> GraphNode | None:
    """The hand-drawn backward graph, once this iteration's backward has run: its leaves hold
    the gradient of this pass (not the summed ``.grad``), as autograd's AccumulateGrad does."""
    if record.loss is None or not record.batch_grads:
        return None
    leaf_w = GraphNode("AccumulateGrad", param="w", grad=summarize_array(record.batch_grads["w"]))
    leaf_b = GraphNode("AccumulateGrad", param="b", grad=summarize_array(record.batch_grads["b"]))
    mul = GraphNode("MulBackward (x · w)", children=(leaf_w,))
    add = GraphNode("AddBackward (+ b)", children=(mul, leaf_b))
    sub = GraphNode("SubBackward (pred − y)", children=(add,))
    square = GraphNode("PowBackward (²)", children=(sub,))
    return GraphNode("MeanBackward (L)", children=(square,))
