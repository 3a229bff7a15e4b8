"""Immutable snapshots: everything a pane shows, taken only when the run pauses."""

from __future__ import annotations

from dataclasses import dataclass, field

from .phases import TRAINING_PHASES, Phase, PhaseEvent
from .summary import TensorSummary, json_float
from .trace import Trace


@dataclass(frozen=True)
class ParamState:
    """One parameter at a pause.

    ``grad`` is None when ``.grad`` is None; a grad of all zeros is a summary with
    ``zeros=True``: the two states mean different things and are kept apart.
    ``batch_grad`` is the gradient this iteration's backward contributed, which differs
    from ``grad`` when zero_grad was skipped and ``.grad`` holds a sum of passes.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    value: TensorSummary
    grad: TensorSummary | None
    change: TensorSummary | None = None
    batch_grad: TensorSummary | None = None
    #: Backward passes this ``.grad`` holds; None: the source does not count them per
    #: parameter, and the run's count (backwards since the last zero_grad) stands.
    grad_passes: int | None = None
    requires_grad: bool = True
    #: At a step or update: whether that phase moved this parameter (a GAN's generator step
    #: moves netG's, not netD's, whose Δ from their own step stays shown). None: not known.
    moved: bool | None = None


@dataclass(frozen=True)
class LossPoint:
    iteration: int
    epoch: int
    loss: float
    #: Which curve: "" for the run's one training (or validation) curve; an optimizer's name
    #: when a run steps several, a validation pass's name ("val", "test"), or for a batch
    #: loss the name of the loss it was ("errD_real").
    series: str = ""


@dataclass(frozen=True)
class Snapshot:
    event: PhaseEvent | None  # None: nothing has run yet
    model_mode: str  # "train" or "eval"
    grad_enabled: bool
    params: tuple[ParamState, ...]
    tensors: dict[str, TensorSummary]
    trace: Trace
    losses: tuple[LossPoint, ...]
    val_losses: tuple[LossPoint, ...]
    zero_grad_on: bool
    lr: float | None
    grad_passes: int
    source: str = ""  # "linreg (numpy)", a script path, ...
    finished: bool = False
    extra: dict = field(default_factory=dict)
    #: At a loss phase: the value the same loss (by name) had at its previous loss phase.
    previous_loss: float | None = None
    #: The phases of an iteration in the order this run does them (see ``phase_order``).
    phase_order: tuple[Phase, ...] = TRAINING_PHASES
    #: Metrics over time, by name (:mod:`.metrics`): grad_norm, grad_norm[param], update_ratio, lr.
    metrics: dict = field(default_factory=dict)

    @property
    def loss(self) -> float | None:
        """This iteration's loss, once the loss phase has run."""
        if self.event is None:
            return None
        return self.event.loss

    def param(self, name: str) -> ParamState:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def to_json(self) -> dict:
        """The JSONL record of one phase (the shape ``loopstep trace --format jsonl`` prints)."""
        ev = self.event
        out: dict = {
            "epoch": ev.epoch if ev else 0,
            "batch": ev.batch if ev else 0,
            "iteration": ev.iteration if ev else 0,
            "phase": ev.phase.value if ev else "start",
            "skipped": bool(ev.skipped) if ev else False,
            "loss": json_float(ev.loss) if ev and ev.loss is not None else None,
            "model_mode": self.model_mode,
            "grad_enabled": self.grad_enabled,
            "zero_grad": self.zero_grad_on,
            "lr": json_float(self.lr),
            "params": {p.name: p.value.to_json() for p in self.params},
            "grads": {p.name: (p.grad.to_json() if p.grad is not None else None) for p in self.params},
            "grad_passes": self.grad_passes,
        }
        if ev and ev.location is not None:
            out["location"] = str(ev.location)
        if ev and ev.detail:
            out["detail"] = ev.detail
        if ev and ev.inside:
            out["inside"] = ev.inside
        if ev and ev.backpropagated is not None:
            out["backpropagated"] = json_float(ev.backpropagated)
        if ev and ev.framework is not None:
            out["framework_location"] = str(ev.framework)
        if ev and ev.series:
            out["series"] = ev.series
        if self.val_losses and ev is not None and ev.phase.value == "validate":
            out["val_loss"] = json_float(self.val_losses[-1].loss)
        return out
