"""The optimizers a script makes and the learning rate loopstep sets in them (``--lr``, the
app's lr), as a mixin of :class:`~.tracker.PhaseTracker`: one concept, kept apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .models import RunModels


class OptimizerSettings:
    models: RunModels
    on_new_optimizer: Callable[[Any], None] | None
    lr_override: float | None
    lr_then: float | None
    _lr_done: set[int]

    def note_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """A new optimizer: its model is registered now, while the script's frame holds it, so
        that a GAN's two models have their names from the first phase on."""
        self.models.optimizer(optimizer)
        params = [p for group in optimizer.param_groups for p in group["params"]]
        self.models.cover(params)
        if self.on_new_optimizer is not None:
            self.on_new_optimizer(optimizer)

    def current_lr(self) -> float | None:
        if self.lr_then is not None:  # the script ended asleep: its last phase's lr
            return self.lr_then
        for tracked in self.models.optimizers:  # the first that has a group: no list built
            groups = tracked.optimizer.param_groups
            if groups:
                return float(groups[0]["lr"])
        return None

    def set_lr(self, lr: float) -> None:
        """Use this learning rate from now on, in every optimizer (also ones made later)."""
        self.lr_override = lr
        self._lr_done = set()
        for optimizer in self.models.live_optimizers():
            self.before_step_lr(optimizer)

    def before_step_lr(self, optimizer: torch.optim.Optimizer) -> None:
        for group in optimizer.param_groups:
            group["lr"] = self.lr_override
        self._lr_done.add(id(optimizer))
