"""The names an expression can use at a replayed pause: what the recording holds there."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..phases import PhaseEvent
from ..summary import TensorSummary, summarize_array
from ..training_frame import TrainingFrame

if TYPE_CHECKING:
    from .replay import ReplayInspector


def _number_or_array(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind == "f":
        return float(value.reshape(-1)[0])
    return value


def recorded_frame(inspector: ReplayInspector, event: PhaseEvent | None, lr: float | None) -> TrainingFrame:
    state = inspector.state
    params = {name: state.get(name) for name, *_ in inspector.params}
    grads = {name: state.get(name + ".grad") for name, *_ in inspector.params}
    names: dict[str, Any] = {
        "params": params,
        "grads": grads,
        "loss": inspector.loss,
        "L": inspector.loss,
        "lr": lr,
    }
    for key in ("x", "y", "pred"):
        if key in state:
            names[key] = state[key]
    for name, value in params.items():
        if name.isidentifier() and name not in names:
            # As the live loop names them: the NumPy lesson's w and b (one number each), w_grad.
            names[name] = _number_or_array(value)
            names[f"{name}_grad"] = _number_or_array(grads[name])
    if event is not None:
        names.update(epoch=event.epoch, batch=event.batch, iteration=event.iteration)
    held = ", ".join(sorted(names))

    def describe(value: Any):
        if isinstance(value, TensorSummary):
            return value, False
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            return summarize_array(value), False
        return None

    return TrainingFrame(
        names=names,
        globals={"np": np},
        where="the recording",
        writable=False,
        describe=describe,
        missing_hint=f"the recording holds {held}",
        first=tuple(names),
    )
