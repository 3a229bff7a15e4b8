"""What was observed about a script's training, for checks that look for common mistakes.

A forward is "without backward" only when no backward reached its output: each backward's
autograd graph is walked from the tensor it ran on, looking for the outputs of the forwards
of the current batch. So a GAN's ``fake = netG(noise)``, which the generator's loss
backpropagates through later, is never taken for an evaluation; the sampling
``netG(fixed_noise)`` that no backward follows is, and is named by its file:line.

A forward is judged once its batch is over (the next batch starts, or the script ends).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import torch

from ....engine.phases import SourceLocation

#: How many of the most recent forwards are kept.
KEPT_FORWARDS = 256
#: Most autograd nodes one backward's walk visits while looking for the batch's forwards.
WALK_LIMIT = 50_000


@dataclass(eq=False)
class ForwardFact:
    """One top-level forward of a model."""

    iteration: int
    epoch: int
    model: str
    training: bool  # model.training when it ran
    grad_enabled: bool  # torch.is_grad_enabled() when it ran
    validation: bool  # shown as part of a validate phase
    output: Any = None  # its first output tensor (only until the forward is judged)
    location: SourceLocation | None = None
    backwarded: bool = False  # a backward's graph reached its output
    builds_graph: bool = False
    node: Any = field(default=None, repr=False)  # the output's grad_fn (held until judged)

    def __post_init__(self) -> None:
        output, self.output = self.output, None
        if isinstance(output, torch.Tensor) and self.grad_enabled and output.grad_fn is not None:
            self.builds_graph = True
            self.node = output.grad_fn


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
    backwards: deque[BackwardFact] = field(default_factory=lambda: deque(maxlen=KEPT_FORWARDS))
    #: Forwards of the current batch, not judged yet.
    pending: list[ForwardFact] = field(default_factory=list)
    #: Forwards judged to have no backward, not yet taken by the diagnostics.
    unused: deque[ForwardFact] = field(default_factory=lambda: deque(maxlen=KEPT_FORWARDS))
    #: Every forward judged to have no backward (kept for checks after the run).
    never_backwarded: list[ForwardFact] = field(default_factory=list)
    #: An optimizer step used the current .grad (no zero_grad since).
    grads_stepped: bool = False

    # ----- filled in by the tracker ------------------------------------------------------------
    def forward(self, fact: ForwardFact, model: Any = None) -> None:
        self.forwards.append(fact)
        if fact.validation or not fact.builds_graph:
            self._judge(fact)  # no graph to reach: judged at once
        else:
            self.pending.append(fact)

    def backward(self, fact: BackwardFact, tensor: torch.Tensor) -> None:
        self.backwards.append(fact)
        looking = {id(f.node): f for f in self.pending if not f.backwarded}
        if not looking or tensor.grad_fn is None:
            return
        stack, seen = [tensor.grad_fn], set()
        while stack and looking and len(seen) < WALK_LIMIT:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            found = looking.pop(id(node), None)
            if found is not None:
                found.backwarded = True
            stack.extend(child for child, _ in node.next_functions if child is not None)

    def new_batch(self) -> None:
        """The batch is over: its forwards that no backward reached are judged now."""
        pending, self.pending = self.pending, []
        for fact in pending:
            self._judge(fact)

    def finish(self) -> None:
        self.new_batch()

    def _judge(self, fact: ForwardFact) -> None:
        fact.node = None  # the graph it held can go
        if not fact.backwarded:
            self.unused.append(fact)
            self.never_backwarded.append(fact)

    def take_unused(self) -> list[ForwardFact]:
        taken = list(self.unused)
        self.unused.clear()
        return taken
