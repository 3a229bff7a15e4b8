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
        ran = (event.iteration + 1) if event is not None else 0
        last: dict[str, float] = {}
        for point in current.losses:
            last[point.series] = point.loss
        if len(last) > 1:
            losses = ", ".join(f"{name} {fmt(loss)}" for name, loss in last.items())
            return f"finished: {ran} iterations ran; the last training losses were {losses}."
        return f"finished: {ran} iterations ran; the last training loss was {fmt(next(iter(last.values()), None))}."
    if event is None:
        return "Nothing has run yet. Press s to run the loop's first phase (forward, in most loops)."
    sentence = _SENTENCES[event.phase](current)
    if event.inside:
        name, _, rest = sentence.partition(": ")
        sentence = f"{name} (inside {event.inside}): {rest}"
    return sentence


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
    model = _model_name(current.event.detail) or "the model"
    return f"forward: {model} turned {rows} of x into predictions pred{mode}; no loss yet, no .grad touched."


def _model_name(detail: str) -> str:
    """``netD (Discriminator)`` → ``netD``."""
    return detail.split(" (", 1)[0]


def _loss(current: Snapshot) -> str:
    loss = current.loss
    before = current.previous_loss
    trend = ""
    if before is not None and loss is not None:
        if loss < before:
            trend = f", down from {fmt(before)} last batch"
        elif loss > before:
            trend = f", up from {fmt(before)} last batch"
    name, how = _loss_name(current.event.detail)
    return f"loss: {name} = {fmt(loss)}{how} scores how wrong pred is against y{trend}; the weights have not moved."


def _loss_name(detail: str) -> tuple[str, str]:
    """The loss's variable and how it was computed: ``errD_real (BCELoss)``, ``inside GPT.forward``."""
    if not detail:
        return "L", ""
    if detail.startswith("inside "):
        return "L", f" (computed {detail})"
    name, _, how = detail.partition(" (")
    how = how.removesuffix(")")
    if how.startswith("inside "):
        how = "computed " + how
    return name, f" ({how})" if how else ""


def _backward(current: Snapshot) -> str:
    with_grad = tuple(p for p in current.params if p.grad is not None)
    names = _names(with_grad or current.params)
    event = current.event
    scaled = ""  # last: the least needed part of the sentence when the line is short
    if event.backpropagated is not None:
        scaled = f" .backward() ran on the loss as the script scaled it, {fmt(event.backpropagated)}."
    passes = current.grad_passes
    if passes > 1:
        why = (
            "because zero_grad was skipped"
            if not current.zero_grad_on
            else "since the last zero_grad (accumulated for one step)"
        )
        return (
            f"backward: this batch's gradient was added to .grad of {names}, which now sums "
            f"{passes} backward passes {why}; nothing moved yet.{scaled}"
        )
    return f"backward: the gradient of L filled .grad of {names}; nothing moved yet.{scaled}"


def _clip(current: Snapshot) -> str:
    what = current.event.detail or "the gradients were clipped"
    return f"clip: {what}; step uses the clipped .grad, nothing moved yet."


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


def _moved(current: Snapshot) -> list:
    """The parameters the step (or update) just run moved."""
    if any(p.moved is not None for p in current.params):
        return [p for p in current.params if p.moved and p.change is not None]
    return [p for p in current.params if p.change is not None]


def _step(current: Snapshot) -> str:
    moved = _moved(current)
    lr = f"lr={fmt(current.lr)}" if current.lr is not None else "its learning rate"
    summed = f", a sum of {count(current.grad_passes, 'pass')}" if current.grad_passes > 1 else ""
    who = current.event.detail or "the optimizer"
    rule = (
        f"−lr·.grad ({lr}{summed})"
        if _plain_sgd(moved, current.lr)
        else f"{who}'s update rule from .grad ({lr}{summed})"
    )
    if moved and len(moved) <= NAMED_PARAMS and all(p.value.numel == 1 for p in moved):
        parts = ", ".join(f"{p.name} by {_signed(p.change.mean)}" for p in moved)
        return f"step: each parameter moved by {rule}: {parts}. .grad is unchanged."
    if moved:
        return (
            f"step: {count(len(moved), 'parameter')} moved by {rule}; {_biggest(moved)}. .grad is unchanged."
        )
    return f"step: {who} updated the parameters from .grad ({lr}{summed})."


def _biggest(moved: list) -> str:
    biggest = max(moved, key=lambda p: p.change.norm)
    return f"the biggest move was {biggest.name} (‖Δ‖={fmt(biggest.change.norm)})"


def _update(current: Snapshot) -> str:
    moved = _moved(current)
    where = current.event.location
    line = f" (line {where.line})" if where is not None else ""
    what = current.event.detail or "the parameters changed outside any optimizer"
    if moved:
        return f"update: {what}{line}, by the script's own code; {_biggest(moved)}."
    return f"update: {what}{line}, by the script's own code; their new values are shown."


def _zero_grad(current: Snapshot) -> str:
    event = current.event
    who = f" ({event.detail})" if event.detail else ""
    if event.skipped:
        held = count(current.grad_passes, "backward pass", "backward passes")
        what = "the sum of " + held if current.grad_passes > 1 else "the gradient of " + held
        return f"zero_grad skipped{who}: .grad still holds {what}, and the next backward will add to it."
    if current.params and all(p.grad is None for p in current.params):
        return f"zero_grad{who}: every .grad was set to None, so the next backward starts fresh; weights keep their values."
    if any(p.grad is not None and not p.grad.zeros for p in current.params):
        return f"zero_grad{who}: its parameters' .grad was reset, so their next backward starts fresh; weights keep their values."
    return f"zero_grad{who}: every .grad was reset to zero, so the next backward starts fresh; weights keep their values."


def _validate(current: Snapshot) -> str:
    mode = f"{current.model_mode}() mode"
    grad = (
        "under no_grad (no graph built)"
        if not current.grad_enabled
        else "with grad enabled (a graph was built)"
    )
    name, _, how = current.event.detail.partition(" (")
    named = f" ({name})" if name else ""
    if current.loss is None:
        return f"validate{named}: the model ran in {mode} {grad} and computed no loss (sampling or inference); no .grad, no step."
    return (
        f"validate{named}: in {mode} {grad} the model scored held-out data, val loss = "
        f"{fmt(current.loss)}{_over(how)}{_eval_changed(current)}; no .grad, no step."
    )


def _eval_changed(current: Snapshot) -> str:
    """What eval() changed in this model's layers, where it has layers that care."""
    layers = current.extra.get("mode_layers") or ()
    kinds = {layer.rpartition("(")[2].rstrip(")") for layer in layers}
    said = []
    if any("Dropout" in kind for kind in kinds):
        said.append("Dropout keeps every unit")
    if any("Norm" in kind for kind in kinds):
        said.append("BatchNorm uses its running statistics")
    if not said:
        return ""
    how = "in eval() " if current.model_mode == "eval" else "in train() mode, so not: "
    return f" ({how}{' and '.join(said)})"


_SENTENCES = {
    Phase.FORWARD: _forward,
    Phase.LOSS: _loss,
    Phase.BACKWARD: _backward,
    Phase.CLIP: _clip,
    Phase.STEP: _step,
    Phase.UPDATE: _update,
    Phase.ZERO_GRAD: _zero_grad,
    Phase.VALIDATE: _validate,
}


def _over(how: str) -> str:
    """``4 forwards)`` → `` (the mean over 4 forwards)``."""
    how = how.removesuffix(")")
    return f" (the mean over {how})" if how and how[0].isdigit() and not how.startswith("1 ") else ""


def _signed(value: float) -> str:
    text = fmt(value)
    return text if text.startswith("-") else "+" + text
