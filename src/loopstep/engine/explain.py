""" "What just happened": one plain sentence per phase about what it did to the numbers.

A pure function of the previous and the current snapshot, so the app, the text stream and
tests all say the same thing. Kept in the engine: no UI library is imported here.
"""

from __future__ import annotations

from .phases import Phase
from .snapshot import ParamState, Snapshot
from .summary import count, fmt

#: Parameters named one by one in a sentence; more are counted instead.
NAMED_PARAMS = 3


def explain(previous: Snapshot | None, current: Snapshot) -> str:
    """One line saying what the phase just reported did, in the lesson's words."""
    event = current.event
    if current.finished:
        last = current.losses[-1].loss if current.losses else None
        count = (event.iteration + 1) if event is not None else 0
        return f"finished: {count} iterations ran; the last training loss was {fmt(last)}."
    if event is None:
        return "Nothing has run yet. Press s to run forward on the first batch."
    phase = event.phase
    if phase is Phase.FORWARD:
        return _forward(current)
    if phase is Phase.LOSS:
        return _loss(previous, current)
    if phase is Phase.BACKWARD:
        return _backward(current)
    if phase is Phase.STEP:
        return _step(current)
    if phase is Phase.ZERO_GRAD:
        return _zero_grad(current)
    return _validate(current)


def _names(params: tuple[ParamState, ...]) -> str:
    names = [p.name for p in params]
    if not names:
        return "no parameters"
    if len(names) > NAMED_PARAMS:
        return f"{', '.join(names[:NAMED_PARAMS])} and {len(names) - NAMED_PARAMS} more"
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"


def _forward(current: Snapshot) -> str:
    x = current.tensors.get("x")
    rows = f"{x.shape[0]} examples" if x is not None and x.shape else "the batch"
    mode = "" if current.model_mode == "train" else f" (model in {current.model_mode}() mode)"
    return (
        f"forward: the model turned {rows} of x into predictions pred{mode}; no loss yet, no .grad touched."
    )


def _loss(previous: Snapshot | None, current: Snapshot) -> str:
    loss = current.loss
    earlier = [p.loss for p in current.losses[:-1]]
    trend = ""
    if earlier and loss is not None:
        before = earlier[-1]
        if loss < before:
            trend = f", down from {fmt(before)} last batch"
        elif loss > before:
            trend = f", up from {fmt(before)} last batch"
    return f"loss: L = {fmt(loss)} scores how wrong pred is against y{trend}; the weights have not moved."


def _backward(current: Snapshot) -> str:
    with_grad = tuple(p for p in current.params if p.grad is not None)
    names = _names(with_grad or current.params)
    passes = current.grad_passes
    if passes > 1:
        return (
            f"backward: this batch's gradient was added to .grad of {names}, which now sums {passes} "
            "backward passes because zero_grad was skipped; nothing moved yet."
        )
    return f"backward: the gradient of L filled .grad of {names}; nothing moved yet."


def _plain_sgd(moved: list, lr: float | None) -> bool:
    """Did every parameter move by exactly lr·.grad? (Momentum, Adam and weight decay do not.)"""
    if lr is None:
        return False
    for p in moved:
        if p.grad is None:
            return False
        expected = lr * p.grad.norm
        if abs(p.change.norm - expected) > 1e-6 * max(expected, 1e-12) + 1e-9:
            return False
    return True


def _step(current: Snapshot) -> str:
    moved = [p for p in current.params if p.change is not None]
    lr = f"lr={fmt(current.lr)}" if current.lr is not None else "its learning rate"
    summed = f", a sum of {count(current.grad_passes, 'pass')}" if current.grad_passes > 1 else ""
    rule = (
        f"−lr·.grad ({lr}{summed})"
        if _plain_sgd(moved, current.lr)
        else f"the optimizer's update rule from .grad ({lr}{summed})"
    )
    if moved and len(moved) <= NAMED_PARAMS and all(p.value.numel == 1 for p in moved):
        parts = ", ".join(f"{p.name} by {_signed(p.change.mean)}" for p in moved)
        return f"step: each parameter moved by {rule}: {parts}. .grad is unchanged."
    if moved:
        biggest = max(moved, key=lambda p: p.change.norm)
        return (
            f"step: {len(moved)} parameters moved by {rule}; the biggest move was "
            f"{biggest.name} (‖Δ‖={fmt(biggest.change.norm)}). .grad is unchanged."
        )
    return f"step: the optimizer updated the parameters from .grad ({lr}{summed})."


def _zero_grad(current: Snapshot) -> str:
    event = current.event
    if event is not None and event.skipped:
        held = count(current.grad_passes, "backward pass", "backward passes")
        what = "the sum of " + held if current.grad_passes > 1 else "the gradient of " + held
        return f"zero_grad skipped: .grad still holds {what}, and the next backward will add to it."
    if current.params and all(p.grad is None for p in current.params):
        return "zero_grad: every .grad was set to None, so the next backward starts fresh; weights keep their values."
    return "zero_grad: every .grad was reset to zero, so the next backward starts fresh; weights keep their values."


def _validate(current: Snapshot) -> str:
    mode = f"{current.model_mode}() mode"
    grad = "under no_grad" if not current.grad_enabled else "with grad enabled (a graph was built)"
    return (
        f"validate: in {mode} {grad} the model scored held-out data, val loss = "
        f"{fmt(current.loss)}; no .grad, no step."
    )


def _signed(value: float) -> str:
    text = fmt(value)
    return text if text.startswith("-") else "+" + text
