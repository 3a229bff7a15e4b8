"""The phases of one training iteration, in the order the lesson teaches them.

The engine reports an event *after* each phase ran, so a pause always shows what
that phase just did to the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Phase(str, Enum):
    FORWARD = "forward"
    LOSS = "loss"
    BACKWARD = "backward"
    #: Gradient clipping (clip_grad_norm_ / clip_grad_value_) between backward and step.
    CLIP = "clip"
    STEP = "step"
    #: The parameters changed outside any optimizer (a hand-written update); in place of step.
    UPDATE = "update"
    ZERO_GRAD = "zero_grad"
    VALIDATE = "validate"

    def __str__(self) -> str:  # so f-strings print "forward", not "Phase.FORWARD"
        return self.value


TRAINING_PHASES: tuple[Phase, ...] = (
    Phase.FORWARD,
    Phase.LOSS,
    Phase.BACKWARD,
    Phase.STEP,
    Phase.ZERO_GRAD,
)

#: The line of code each phase stands for, as the lesson writes it.
PHASE_CODE: dict[Phase, str] = {
    Phase.FORWARD: "pred = model(x)",
    Phase.LOSS: "L = loss_fn(pred, y)",
    Phase.BACKWARD: "L.backward()",
    Phase.STEP: "optimizer.step()",
    Phase.ZERO_GRAD: "optimizer.zero_grad()",
    Phase.VALIDATE: "model.eval(); with torch.no_grad(): val_loss = ...",
    Phase.CLIP: "torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)",
    Phase.UPDATE: "p.data.add_(p.grad, alpha=-lr)  # by hand, no optimizer",
}

#: Phases shown in the phase bar only when a run has them.
OCCASIONAL_PHASES: tuple[Phase, ...] = (Phase.CLIP, Phase.UPDATE, Phase.VALIDATE)


@dataclass(frozen=True)
class SourceLocation:
    """Where in the user's code a phase happened."""

    path: str
    line: int
    function: str = ""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class PhaseEvent:
    """One phase has just finished.

    ``iteration`` counts optimizer steps: it is the index of the step the current
    forward/loss/backward are heading for. ``skipped`` marks a zero_grad that the
    user switched off (the phase is still shown so the missing reset is visible).
    """

    phase: Phase
    epoch: int
    batch: int
    iteration: int
    skipped: bool = False
    loss: float | None = None
    location: SourceLocation | None = None
    detail: str = ""
    #: Set by a source on the last phase of an epoch when no validate phase follows.
    ends_epoch: bool = False
    #: Whether this phase closes its iteration. Default (None): a zero_grad does. A script
    #: that calls zero_grad at the top of its loop, before anything stepped, sets it False.
    ends_iteration: bool = None  # type: ignore[assignment]
    #: Set on phases that ran inside another one: "LBFGS.step closure" for an optimizer's
    #: closure evaluations.
    inside: str = ""
    #: For backward: the value ``.backward()`` was called on, when it is not the loss shown
    #: (``loss / k`` with gradient accumulation, a GradScaler's scaled loss).
    backpropagated: float | None = None
    #: Where a framework ran the phase (its own frame), when the user's line is only the call
    #: into the framework (``trainer.fit(...)``).
    framework: SourceLocation | None = None
    #: The loss curve this phase's loss belongs to, where a run has several: a validation
    #: pass's name ("val", "test") or, for step and update, the optimizer's name when a run
    #: steps several. Empty: the one training (or validation) curve.
    series: str = ""

    def __post_init__(self) -> None:
        if self.ends_iteration is None:
            object.__setattr__(self, "ends_iteration", self.phase is Phase.ZERO_GRAD)
