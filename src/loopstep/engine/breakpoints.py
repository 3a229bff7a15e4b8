"""Stop conditions (``--break COND``): where a run in continue mode pauses by itself.

The stepper calls ``condition.check(event, stepper)`` after every phase it does not
already pause at; a condition answers with the reason to pause, or None. Checks that
need numbers from the model go through the source's probe (:mod:`.probes`), share one
gradient-norm computation per event, and switch on costly watches only for themselves:
activation checks exist only while a NaN condition is set.

Grammar (one condition per ``--break``)::

    phase=step              every time that phase has run
    iteration=40  epoch=2   when that iteration / epoch begins
    nan                     NaN/Inf in the input, activations (names the module), loss, grads or params
    grad_norm>10            total gradient norm after backward
    grad_norm[fc1.weight]>1 one parameter's gradient norm
    loss>3x_median          loss above k times the median of the last 20 losses
    loss>2.5                loss above a value
    update_ratio>1e-2       ‖Δθ‖/‖θ‖ of a step above (or ``<`` below) a value
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from .control import ConditionRefused
from .phases import Phase, PhaseEvent
from .probes import Measure, Probe, probe_of, total_norm

if TYPE_CHECKING:
    from .stepper import Stepper


class ConditionError(ValueError):
    """A stop condition that cannot be parsed; the message is one line for the user."""


def _fmt(value: float) -> str:
    return f"{value:.4g}"


@dataclass
class _ProbeUser:
    """Finds the source's probe (late: a script builds its model after starting) and
    switches on the watches this condition needs, once per probe."""

    measure: Measure = field(default_factory=Measure, repr=False, compare=False)
    _armed: object = field(default=None, repr=False, compare=False)
    #: See :class:`~.protocols.StopCondition`: most conditions need every phase.
    asleep_watch: ClassVar[str | None] = None

    def prepare(self, stepper: Stepper) -> None:
        self.probe(stepper)

    def probe(self, stepper: Stepper) -> Probe | None:
        probe = probe_of(stepper.source)
        if probe is not None and probe is not self._armed:
            self._armed = probe
            self.arm(probe)
        return probe

    def arm(self, probe: Probe) -> None:
        """Switch on what this condition needs."""

    def disarm(self, stepper: Stepper) -> None:
        """Switch off what :meth:`arm` switched on (the condition was removed)."""


@dataclass
class PhaseBreak(_ProbeUser):
    phase: Phase = Phase.STEP

    def check(self, event: PhaseEvent, stepper: Stepper) -> str | None:
        return f"break: phase={self.phase}" if event.phase is self.phase else None

    def __str__(self) -> str:
        return f"phase={self.phase}"


@dataclass
class CounterBreak(_ProbeUser):
    """Pause at the first phase of iteration (or epoch) N."""

    field_name: str = "iteration"
    value: int = 0
    _last: int | None = field(default=None, repr=False, compare=False)

    def check(self, event: PhaseEvent, stepper: Stepper) -> str | None:
        current = getattr(event, self.field_name)
        entered = current != self._last
        self._last = current
        if entered and current == self.value and event.phase is not Phase.VALIDATE:
            return f"break: {self}"
        return None

    def __str__(self) -> str:
        return f"{self.field_name}={self.value}"


@dataclass
class NonFiniteBreak(_ProbeUser):
    #: A NaN/Inf reaches the loss, the grads or the parameters whichever module made it: a
    #: sleeping source checks those once an iteration (not which module: that needs hooks).
    asleep_watch: ClassVar[str | None] = "nonfinite"

    def arm(self, probe: Probe) -> None:
        probe.watch_nonfinite(True)

    def disarm(self, stepper: Stepper) -> None:
        probe = probe_of(stepper.source)
        if probe is not None:
            probe.watch_nonfinite(False)

    def check(self, event: PhaseEvent, stepper: Stepper) -> str | None:
        reason = nonfinite_reason(event, self.probe(stepper), self.measure)
        return f"break: {reason}" if reason else None

    def __str__(self) -> str:
        return "nan"


def nonfinite_reason(event: PhaseEvent, probe: Probe | None, measure: Measure) -> str | None:
    """Where the first NaN/Inf of this phase is, or None."""
    phase = event.phase
    if phase in (Phase.FORWARD, Phase.VALIDATE) and probe is not None:
        module = probe.nonfinite_module()
        if module == "input":
            return "NaN/Inf in the input batch"
        if module is not None:
            return f"NaN/Inf first produced by module {module}"
    if phase is Phase.LOSS and event.loss is not None and not math.isfinite(event.loss):
        return f"loss is {event.loss}"
    if probe is None:
        return None
    if phase is Phase.BACKWARD:
        norms = measure.grad_norms(event, probe)
        # A norm past the float range (a float16 grad's) is no NaN: the values themselves say.
        bad = probe.nonfinite_grads() if not all(map(math.isfinite, norms.values())) else ()
        if bad:
            more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
            return f"NaN/Inf in {bad[0]}.grad{more}"
    if phase is Phase.STEP and not probe.params_finite():
        return "NaN/Inf in the parameters after the step"
    return None


@dataclass
class GradNormBreak(_ProbeUser):
    threshold: float = 0.0
    param: str | None = None

    def check(self, event: PhaseEvent, stepper: Stepper) -> str | None:
        if event.phase is not Phase.BACKWARD:
            return None
        probe = self.probe(stepper)
        if probe is None:
            return None
        norms = self.measure.grad_norms(event, probe)
        if self.param is None:
            value = total_norm(norms)
        elif self.param in norms:
            value = norms[self.param]
        else:
            if self.param not in probe.trainable():
                names = ", ".join(probe.trainable()[:6])
                raise ConditionRefused(f"no trainable parameter named {self.param!r} (some: {names})")
            return None
        if value > self.threshold or not math.isfinite(value):
            return f"break: {self.label} {_fmt(value)} > {_fmt(self.threshold)}"
        return None

    @property
    def label(self) -> str:
        return "grad_norm" if self.param is None else f"grad_norm[{self.param}]"

    def __str__(self) -> str:
        return f"{self.label}>{_fmt(self.threshold)}"


@dataclass
class LossBreak(_ProbeUser):
    """Loss above a value, or above k times the median of the recent losses."""

    threshold: float = 0.0
    relative: bool = False
    window: int = 20

    def check(self, event: PhaseEvent, stepper: Stepper) -> str | None:
        if event.phase is not Phase.LOSS or event.loss is None:
            return None
        loss = event.loss
        if not self.relative:
            if loss > self.threshold:
                return f"break: loss {_fmt(loss)} > {_fmt(self.threshold)}"
            return None
        # The same loss's earlier values (a GAN's errD_real is not compared with its errG).
        same = [p.loss for p in stepper.history.batches[:-1] if p.series == event.detail]
        earlier = [loss for loss in same[-self.window :] if math.isfinite(loss)]
        if len(earlier) < 5:
            return None
        median = statistics.median(earlier)
        if loss > self.threshold * median:
            return f"break: loss {_fmt(loss)} > {_fmt(self.threshold)}× median {_fmt(median)}"
        return None

    def __str__(self) -> str:
        return f"loss>{_fmt(self.threshold)}x_median" if self.relative else f"loss>{_fmt(self.threshold)}"


@dataclass
class UpdateRatioBreak(_ProbeUser):
    above: bool = True
    threshold: float = 0.0

    def arm(self, probe: Probe) -> None:
        probe.watch_updates(True)

    def disarm(self, stepper: Stepper) -> None:
        probe = probe_of(stepper.source)
        if probe is not None:
            probe.watch_updates(False)

    def check(self, event: PhaseEvent, stepper: Stepper) -> str | None:
        if event.phase is not Phase.STEP:
            return None
        probe = self.probe(stepper)
        ratio = probe.update_ratio() if probe is not None else None
        if ratio is None:
            return None
        if (ratio > self.threshold) if self.above else (ratio < self.threshold):
            return f"break: update_ratio {_fmt(ratio)} {'>' if self.above else '<'} {_fmt(self.threshold)}"
        return None

    def __str__(self) -> str:
        return f"update_ratio{'>' if self.above else '<'}{_fmt(self.threshold)}"


# ----- parsing ---------------------------------------------------------------------------------
_EXAMPLES = "phase=step, iteration=40, epoch=2, nan, grad_norm>10, loss>3x_median, update_ratio>1e-2"


def _number(text: str, condition: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConditionError(f"{condition!r}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ConditionError(f"{condition!r}: the limit must be a finite number")
    return value


def _count(text: str, condition: str) -> int:
    if not re.fullmatch(r"\d+", text):
        raise ConditionError(f"{condition!r}: expected a whole number ≥ 0, got {text!r}")
    return int(text)


def parse_condition(text: str, measure: Measure | None = None) -> _ProbeUser:
    """One ``--break`` string → a stop condition; :class:`ConditionError` says what is wrong."""
    measure = measure or Measure()
    spec = text.strip().replace(" ", "")
    low = spec.lower()
    if low in ("nan", "inf", "nonfinite"):
        return NonFiniteBreak(measure=measure)
    match = re.fullmatch(r"(phase|iteration|epoch)=(.*)", low)
    if match:
        key, value = match.groups()
        if key == "phase":
            try:
                return PhaseBreak(measure=measure, phase=Phase(value))
            except ValueError:
                names = ", ".join(p.value for p in Phase)
                raise ConditionError(f"{text!r}: unknown phase {value!r}; choose one of: {names}") from None
        return CounterBreak(measure=measure, field_name=key, value=_count(value, text))
    match = re.fullmatch(r"grad_norm(?:\[([^\]]+)\])?>(.+)", spec)
    if match:
        param, value = match.groups()
        return GradNormBreak(measure=measure, threshold=_number(value, text), param=param)
    match = re.fullmatch(r"loss>(.+?)(x_?median)?", low)
    if match:
        value, relative = match.groups()
        number = _number(value, text)
        if relative and number <= 0:
            raise ConditionError(f"{text!r}: the factor must be above 0")
        return LossBreak(measure=measure, threshold=number, relative=bool(relative))
    match = re.fullmatch(r"update_ratio([<>])(.+)", low)
    if match:
        op, value = match.groups()
        return UpdateRatioBreak(measure=measure, above=op == ">", threshold=_number(value, text))
    raise ConditionError(f"unknown stop condition {text!r}; examples: {_EXAMPLES}")


def parse_conditions(texts: Iterable[str]) -> list[_ProbeUser]:
    """Several conditions sharing one per-event measurement cache."""
    measure = Measure()
    return [parse_condition(t, measure) for t in texts]


__all__ = [
    "ConditionError",
    "CounterBreak",
    "GradNormBreak",
    "LossBreak",
    "NonFiniteBreak",
    "PhaseBreak",
    "UpdateRatioBreak",
    "nonfinite_reason",
    "parse_condition",
    "parse_conditions",
]
