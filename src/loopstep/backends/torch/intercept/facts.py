"""What was observed about a script's training, for checks that look for common mistakes.

The tracker fills these in as phases happen (cheap, no host syncs); the questions that
need to look at every parameter are answered only when asked.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

#: How many of the most recent forwards are kept.
KEPT_FORWARDS = 256


@dataclass(eq=False)
class ForwardFact:
    """One top-level forward of a model."""

    iteration: int
    epoch: int
    model: str
    training: bool  # model.training when it ran
    grad_enabled: bool  # torch.is_grad_enabled() when it ran
    validation: bool  # shown as part of a validate phase
    backwarded: bool = False  # a backward ran before this model's next forward


@dataclass
class BackwardFact:
    iteration: int
    epoch: int
    #: ``.grad`` still held values that an optimizer step had already used (no zero_grad
    #: since that step), so this backward added onto them.
    onto_stepped_grads: bool


@dataclass
class RunFacts:
    forwards: deque[ForwardFact] = field(default_factory=lambda: deque(maxlen=KEPT_FORWARDS))
    #: Training-mode forwards (grad enabled) whose output never reached a backward.
    never_backwarded: list[ForwardFact] = field(default_factory=list)
    backwards: deque[BackwardFact] = field(default_factory=lambda: deque(maxlen=KEPT_FORWARDS))
    models: list[nn.Module] = field(default_factory=list)
    optimizers: list[torch.optim.Optimizer] = field(default_factory=list)
    #: Set by the tracker: parameters of the model a pause shows, as (name, parameter).
    shown_params: Callable[[], list[tuple[str, nn.Parameter]]] = lambda: []
    #: The last ForwardFact per model, by id(model).
    last_forward: dict[int, ForwardFact] = field(default_factory=dict)

    # ----- filled in by the tracker ------------------------------------------------------------
    def forward(self, fact: ForwardFact, model: nn.Module) -> None:
        previous = self.last_forward.get(id(model))
        if previous is not None:
            self._settle(previous)
        self.last_forward[id(model)] = fact
        self.forwards.append(fact)

    def backward(self, fact: BackwardFact) -> None:
        for forward in self.last_forward.values():
            if forward.grad_enabled and not forward.validation:
                forward.backwarded = True
        self.backwards.append(fact)

    def finish(self) -> None:
        for fact in self.last_forward.values():
            self._settle(fact)
        self.last_forward.clear()

    def _settle(self, fact: ForwardFact) -> None:
        if fact.grad_enabled and not fact.backwarded and fact not in self.never_backwarded:
            self.never_backwarded.append(fact)

    # ----- questions answered on demand ----------------------------------------------------------
    @staticmethod
    def layers(model: nn.Module) -> dict[str, bool]:
        """Whether train() and eval() make this model behave differently."""
        kinds = {"dropout": False, "batchnorm": False}
        for module in model.modules():
            if isinstance(module, nn.modules.dropout._DropoutNd):
                kinds["dropout"] = True
            elif isinstance(module, nn.modules.batchnorm._NormBase):
                kinds["batchnorm"] = True
        return kinds

    def params_without_grad(self) -> list[str]:
        """Parameters that require grad but whose ``.grad`` is None (meaningful after a backward)."""
        return [name for name, p in self.shown_params() if p.requires_grad and p.grad is None]

    def params_not_in_optimizer(self) -> list[str]:
        """Parameters of the shown model that require grad but that no optimizer updates."""
        held = {id(p) for opt in self.optimizers for group in opt.param_groups for p in group["params"]}
        return [name for name, p in self.shown_params() if p.requires_grad and id(p) not in held]
