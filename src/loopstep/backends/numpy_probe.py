"""Stop conditions and diagnostics ask the NumPy loop the same questions as a torch model."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..engine.probes import ForwardFacts

if TYPE_CHECKING:
    from .numpy_backend import NumpyLinReg


class NumpyProbe:
    def __init__(self, backend: NumpyLinReg) -> None:
        self.backend = backend

    def grad_norms(self) -> dict[str, float]:
        return {n: float(np.linalg.norm(g)) for n, g in self.backend.grads.items() if g is not None}

    def trainable(self) -> tuple[str, ...]:
        return tuple(self.backend.params)

    def not_in_optimizer(self) -> tuple[str, ...]:
        return ()

    def mode_layers(self) -> tuple[str, ...]:
        return ()

    def forward_facts(self) -> ForwardFacts | None:
        """How the last forward ran (validate's in eval mode), None before the first: not
        the mode of the moment, so a validate pause is not judged as a train-mode forward."""
        return self.backend.last_forward

    def params_finite(self) -> bool:
        return all(np.isfinite(v).all() for v in self.backend.params.values())

    def grads_cleared(self) -> bool:
        return all(g is None or not g.any() for g in self.backend.grads.values())

    def watch_nonfinite(self, on: bool) -> None:
        """Nothing to install: the model is one expression, checked when asked."""

    def nonfinite_module(self) -> str | None:
        b = self.backend
        if b.x is not None and not np.isfinite(b.x).all():
            return "input"
        if b.pred is not None and not np.isfinite(b.pred).all():
            return "w·x + b"
        return None

    def watch_updates(self, on: bool) -> None:
        """The loop keeps the parameters from before each step anyway."""

    def update_ratio(self) -> float | None:
        b = self.backend
        if not b._stepped or b.before_step is None:
            return None
        moved = np.sqrt(sum(float(np.sum((b.params[n] - b.before_step[n]) ** 2)) for n in b.params))
        size = np.sqrt(sum(float(np.sum(v**2)) for v in b.params.values()))
        return moved / max(size, 1e-30)
