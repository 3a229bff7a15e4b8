"""Metrics over time: the numbers read beside the loss curve (TensorBoard's scalars) — the
gradient norm the step used, each parameter's, the update-to-weight ratio and the learning
rate — one point per optimizer step.

They come from what the probe already computes (one fused norm over every ``.grad``, one
host copy), taken at the step phase: the gradients there are the ones the step used, after
any clipping and summed over accumulated micro-batches. A run's cost stays what it was
while no one looks: each iteration is measured while a front end shows a metric (``dense``)
or the run is stepped by hand, and only every THIN-th one otherwise, so the curves have a
coarse past to show when a chart is first opened. The update ratio needs a copy of the
parameters before each step: it is measured only once a front end has asked for it (or a
stop condition switched the probe's watch on).

A source without a probe (a recording) gives what its pauses show: the norms of the
recorded ``.grad`` and of the last step's change. A watch expression that gives a number is
charted too, one point per iteration it was seen at a pause in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .phases import Phase, PhaseEvent
from .probes import probe_of, total_norm

if TYPE_CHECKING:
    from .stepper import Stepper

#: Iterations between two measured ones while nobody shows a metric.
THIN = 10
GRAD_NORM = "grad_norm"
UPDATE_RATIO = "update_ratio"
LR = "lr"
#: A parameter's gradient norm: ``grad_norm[fc1.weight]``.
PARAM_GRAD_NORM = GRAD_NORM + "[{}]"
#: A watch expression's value, where it is a number: measured at each pause only.
WATCH = "watch:"
_STEPS = (Phase.STEP, Phase.UPDATE)


@dataclass(frozen=True)
class MetricPoint:
    iteration: int
    value: float


class MetricsRecorder:
    """An observer of the stepper (``stepper.metrics``): metric name -> points in order."""

    def __init__(self) -> None:
        self.series: dict[str, list[MetricPoint]] = {}
        #: A front end shows a metric: measure every iteration.
        self.dense = False
        #: A front end shows the update ratio: switch the probe's update watch on.
        self.updates_wanted = False
        self._updates_on = False

    def observe(self, event: PhaseEvent, stepper: Stepper) -> None:
        if self.updates_wanted and not self._updates_on:
            probe = probe_of(stepper.source)
            if probe is not None:
                probe.watch_updates(True)  # from the next step on (it copies the parameters first)
                self._updates_on = True
        if event.phase not in _STEPS or stepper.brief_snapshots:
            return  # a printed stream shows no metric
        if not (self.dense or stepper.wants_detail or event.iteration % THIN == 0):
            return
        probe = probe_of(stepper.source)
        if probe is not None:
            # With several optimizers (a GAN), each step's own parameters: the .grad it used.
            norms = probe.stepped_grad_norms(event.series) if event.series else probe.grad_norms()
            ratio = probe.update_ratio()
        else:
            norms, ratio = _from_pause(stepper)
        at = event.iteration
        if norms:
            self._add(GRAD_NORM + (f":{event.series}" if event.series else ""), at, total_norm(norms))
            for name, value in norms.items():
                self._add(PARAM_GRAD_NORM.format(name), at, value)
        if ratio is not None:
            self._add(UPDATE_RATIO, at, ratio)
        lr = stepper.source.learning_rate()
        if lr is not None:
            self._add(LR, at, float(lr))

    def _add(self, name: str, iteration: int, value: float) -> None:
        points = self.series.setdefault(name, [])
        if points and points[-1].iteration == iteration:
            points[-1] = MetricPoint(iteration, value)  # a second optimizer's step: its own value
        else:
            points.append(MetricPoint(iteration, value))

    def note_watches(self, iteration: int, numbers: dict[str, float | None]) -> None:
        """The watches' values at a pause of ``iteration`` (the last pause of an iteration
        stands for it); those that are not numbers are left out."""
        for expression, number in numbers.items():
            if number is not None:
                self._add(WATCH + expression, iteration, float(number))

    def rewound(self, iteration: int, stepper: Stepper) -> None:
        for name, points in self.series.items():
            self.series[name] = [p for p in points if p.iteration < iteration]

    def frozen(self) -> dict[str, tuple[MetricPoint, ...]]:
        """A copy for a snapshot (each list is only appended to or has its last item replaced,
        so a reader in another thread sees a consistent one)."""
        return {name: tuple(points) for name, points in list(self.series.items())}


def _from_pause(stepper: Stepper) -> tuple[dict[str, float], float | None]:
    """The norms a source without a probe shows (a replay's recorded tensors)."""
    params = stepper.source.inspector.param_states()
    norms = {p.name: p.grad.norm for p in params if p.grad is not None}
    changed = [(p.change.norm, p.value.norm) for p in params if p.change is not None]
    weight = math.sqrt(sum(v * v for _, v in changed))
    ratio = math.sqrt(sum(c * c for c, _ in changed)) / weight if changed and weight > 0 else None
    return norms, ratio


def top_parameters(series: dict[str, tuple[MetricPoint, ...]], k: int) -> list[str]:
    """The ``k`` parameters whose last gradient norm is the largest (the layers to look at)."""
    prefix = GRAD_NORM + "["
    last = {
        name[len(prefix) : -1]: points[-1].value
        for name, points in series.items()
        if name.startswith(prefix) and points
    }  # a NaN or inf comes first: that is the layer to look at
    return sorted(last, key=lambda name: -last[name] if math.isfinite(last[name]) else -math.inf)[:k]
