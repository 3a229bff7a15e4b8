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

    def stepped_grad_norms(self, optimizer: str) -> dict[str, float]:
        return self.grad_norms()  # one optimizer steps them all

    def trainable(self) -> tuple[str, ...]:
        return tuple(self.backend.params)

    def missing_grads(self, optimizer: str) -> tuple[str, ...]:
        return tuple(n for n, g in self.backend.grads.items() if g is None)

    def not_in_optimizer(self) -> tuple[str, ...]:
        return ()

    def mode_layers(self) -> tuple[str, ...]:
        return ()

    def forward_facts(self) -> ForwardFacts | None:
        """How the last forward ran (validate's in eval mode), None before the first: not
        the mode of the moment, so a validate pause is not judged as a train-mode forward."""
        return self.backend.last_forward

    def loader_findings(self) -> list:
        return []  # a loop loopstep owns reads its batches itself

    def searches_unused(self) -> bool:
        return False  # one process, no DistributedDataParallel

    def unused_forwards(self) -> list:
        return []  # the loop loopstep owns runs a backward after every training forward

    def params_finite(self) -> bool:
        return all(np.isfinite(v).all() for v in self.backend.params.values())

    def nonfinite_grads(self) -> tuple[str, ...]:
        return tuple(n for n, g in self.backend.grads.items() if g is not None and not np.isfinite(g).all())

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
        """The loop measures every step's update anyway."""

    def update_ratio(self) -> float | None:
        """The last step's ratio, measured when it ran: a later learning rate or batch does
        not change what that step did."""
        return self.backend.last_update_ratio

    def stale_grads(self) -> None:
        return None  # one model, one optimizer: the phases tell it all

    def close(self) -> None:
        """Nothing was installed."""
