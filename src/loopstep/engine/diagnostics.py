"""Diagnosis of training-loop bugs from the phase events plus a few facts from the probe.

:class:`Diagnostics` is a stepper observer: it sees every phase (paused at or not) and
turns patterns into :class:`Finding` s. It works the same for a loop loopstep owns and an
intercepted script, because it reads only PhaseEvents and the source's probe
(:mod:`.probes`). In continue mode it costs one fused gradient-norm computation per
sampled backward; everything else is bookkeeping on numbers the events already carry.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from .breakpoints import nonfinite_reason
from .findings import CATALOG, Finding
from .loss_trends import LossTrends
from .phases import Phase, PhaseEvent
from .probes import Measure, Probe, probe_of, total_norm

if TYPE_CHECKING:
    from .stepper import Stepper

DENSE = 10  # backwards that are always checked
UNUSED_STEPS = 3  # an optimizer's first steps, over which parameters without a .grad are judged


class Diagnostics:
    """Collects findings from the phases of one run; one finding per id.

    Gradient norms are measured at every backward for the first ``DENSE`` ones, then at
    every ``grad_every``-th (and always right after a non-finite loss): that keeps
    continue mode within a few percent of an unchecked run. ``grad_every=1`` checks all.
    """

    def __init__(
        self,
        *,
        watch_activations: bool = False,
        on_finding: Callable[[Finding], None] | None = None,
        grad_every: int = 8,
    ) -> None:
        self.findings: list[Finding] = []
        self.on_finding = on_finding
        self.watch_activations = watch_activations
        self.grad_every = max(1, grad_every)
        self.measure = Measure()
        self._probe: Probe | None = None
        self._last_event: PhaseEvent | None = None
        self._backwards = 0  # since the last zero_grad
        self._batches: set[tuple[int, int]] = set()  # (epoch, batch) of those backwards
        self._scales: list[float] = []  # of those backwards: what .backward() got / the loss
        self._rescaled_inside = False  # the last loss: a model's, scaled inside its forward
        self._stepped = False  # a step ran since the last zero_grad
        self._accumulated = 0  # k of a step that followed k > 1 backwards
        self._backward_count = 0
        self._backward_location: str | None = None  # of the last backward: where a .grad comes from
        #: Per optimizer series: its steps so far, and the parameters it stepped with .grad
        #: None, counted over consecutive steps.
        self._steps: dict[str, int] = {}
        self._missing: dict[str, dict[str, int]] = {}
        self._norms: deque[float] = deque(maxlen=32)
        self._small: dict[str, int] = {}
        self._trends = LossTrends()
        self._mode_layers: tuple[str, ...] | None = None
        self._stepped_once = False
        self._first_step_iteration: int | None = None
        self._suspect = False  # a non-finite loss: check the next backward's gradients

    # ----- reporting ------------------------------------------------------------------------
    def add(
        self,
        id: str,
        event: PhaseEvent,
        message: str,
        *,
        location: str | None = None,
        iteration: int | None = None,
        fix: str | None = None,
    ) -> None:
        if any(f.id == id for f in self.findings):
            return
        severity, why, usual_fix = CATALOG[id]
        fix = usual_fix if fix is None else fix
        if location is None:
            location = str(event.location) if event.location is not None else ""
        found_at = event.iteration if iteration is None else iteration
        finding = Finding(id, severity, found_at, location, message, why, fix)
        self.findings.append(finding)
        if self.on_finding is not None:
            self.on_finding(finding)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    # ----- the observer ---------------------------------------------------------------------
    def observe(self, event: PhaseEvent, stepper: Stepper) -> None:
        self._last_event = event
        probe = self._probe_for(event, stepper)
        phase = event.phase
        if phase is Phase.FORWARD:
            self._judge_unused(event, probe)
            if probe is not None:
                for found in probe.loader_findings():
                    where = str(found.location) if found.location is not None else None
                    self.add(found.id, event, found.message, location=where, iteration=found.iteration)
            if self._stepped and probe is not None and probe.grads_cleared():
                self._zeroed()  # cleared by other means (model.zero_grad(), p.grad = None)
            if self.watch_activations:
                self._nonfinite(event, probe)
        elif phase is Phase.LOSS:
            if event.loss is not None:
                self._rescaled_inside = event.detail.endswith(", rescaled there")
                if math.isfinite(event.loss):
                    for id, message in self._trends.judge(event.detail, event.loss, event.iteration):
                        self.add(id, event, message)
                else:
                    self._suspect = True
                    self._nonfinite(event, probe)
        elif phase is Phase.BACKWARD:
            self._backward(event, probe)
        elif phase is Phase.STEP or phase is Phase.UPDATE:
            if event.series:
                self._trends.several_optimizers = True
            if not self._stepped_once and phase is Phase.STEP:
                self._first_step(event, probe)
            if probe is not None:
                self._stepped_without_grad(event, probe)
            stale = probe.stale_grads() if probe is not None else None
            if stale:
                names = ", ".join(stale[:3]) + (f" (+{len(stale) - 3} more)" if len(stale) > 3 else "")
                by_hand = phase is Phase.UPDATE
                who = "the update by hand" if by_hand else (event.detail or "the step")
                self.add(
                    "zero-grad-missing",
                    event,
                    f"{who} used .grad that still held gradients an earlier {'update' if by_hand else 'step'} used ({names})",
                    fix="call model.zero_grad() (or set each p.grad = None) before each backward"
                    if by_hand
                    else None,
                )
            # Accumulation is over batches: a GAN's discriminator sums two backwards (real and
            # fake) of one batch, which is no accumulation.
            if len(self._batches) > 1 and not self._stepped:
                self._accumulated = len(self._batches)
            self._stepped = True
        elif phase is Phase.ZERO_GRAD:
            if not event.skipped:
                if self._accumulated > 1:
                    self._accumulation(event)
                self._zeroed()
        elif phase is Phase.VALIDATE:
            self._judge_unused(event, probe)

    def _accumulation(self, event: PhaseEvent) -> None:
        """Deliberate accumulation, and whether the step follows the micro-batches' mean (each
        backward ran on loss / k, as the script or its framework scaled it) or their sum."""
        k = self._accumulated
        scales = self._scales
        message = f"gradients accumulate over k={k} micro-batches per step"
        if scales and all(abs(scale * k - 1) < 1e-3 for scale in scales):
            message += f"; each backward ran on the loss / {k}, so the step follows their mean"
            fix = "nothing to fix: the loss is already scaled by 1/k"
        elif scales and all(abs(scale - 1) < 1e-6 for scale in scales) and self._rescaled_inside:
            message += "; the model scales its own loss (as transformers does, over the window's tokens)"
            fix = "nothing to fix: the model scales its loss itself"
        elif scales and all(abs(scale - 1) < 1e-6 for scale in scales):
            message += f"; the loss is not scaled, so the step follows their sum ({k}× one batch's gradient)"
            fix = None
        else:
            fix = "nothing to fix"
        self.add("grad-accumulation", event, message, fix=fix)

    def finish(self) -> None:
        """The run ended: judge the last forwards that no backward used."""
        if self._probe is not None and self._last_event is not None:
            self._judge_unused(self._last_event, self._probe)

    def rewound(self, iteration: int, stepper: Stepper) -> None:
        """Step back restored the start of ``iteration``: what came after it did not happen.

        Its findings go (the replay, which observers see too, finds them again if they
        recur), and so does the forward in flight, which no backward will now follow.
        """
        self.findings = [f for f in self.findings if f.iteration < iteration]
        self._backwards = stepper.grad_passes  # grads carried in with zero_grad off
        self._stepped = stepper.grad_passes > 0
        self._accumulated = 0
        self._suspect = False
        self._trends.rewound(iteration, stepper.history.batches)
        # What is judged once, or over a run of passes, is judged again on the replay.
        if self._first_step_iteration is not None and self._first_step_iteration >= iteration:
            self._stepped_once = False
        self._steps = {}
        self._missing = {}
        self._small = {}

    # ----- the checks ---------------------------------------------------------------------------
    def _probe_for(self, event: PhaseEvent, stepper: Stepper) -> Probe | None:
        if self._probe is not None:
            return self._probe  # a source keeps its probe once it has one
        probe = probe_of(stepper.source)
        if probe is not None:
            self._probe = probe
            if self.watch_activations:
                probe.watch_nonfinite(True)
        return probe

    def _first_step(self, event: PhaseEvent, probe: Probe | None) -> None:
        """After the first step every optimizer a script uses is known."""
        self._stepped_once = True
        self._first_step_iteration = event.iteration
        missing = probe.not_in_optimizer() if probe is not None else ()
        if missing:
            names = ", ".join(missing[:4]) + (f" (+{len(missing) - 4} more)" if len(missing) > 4 else "")
            self.add("param-not-in-optimizer", event, f"no optimizer updates {names}")

    def _zeroed(self) -> None:
        self._backwards = 0
        self._batches = set()
        self._scales = []
        self._stepped = False
        self._accumulated = 0

    def _judge_unused(self, event: PhaseEvent, probe: Probe | None) -> None:
        """Forwards that no backward reached: an evaluation, or sampling and logging."""
        if probe is None:
            return
        for forward in probe.unused_forwards():
            where = str(forward.location) if forward.location is not None else None
            at = f" at {where}" if where else ""
            if forward.training and self._mode_layers is None:
                self._mode_layers = probe.mode_layers()
            if forward.training and self._mode_layers:
                layers = ", ".join(self._mode_layers[:3])
                self.add(
                    "eval-in-train-mode",
                    event,
                    f"a forward that no backward used{at} ran in train mode ({layers})",
                    location=where,
                    iteration=forward.iteration,
                )
            if forward.builds_graph:
                self.add(
                    "eval-builds-graph",
                    event,
                    f"a forward that no backward used{at} recorded an autograd graph",
                    location=where,
                    iteration=forward.iteration,
                )

    def _nonfinite(self, event: PhaseEvent, probe: Probe | None) -> None:
        reason = nonfinite_reason(event, probe, self.measure)
        if reason is None:
            return
        if event.phase is Phase.LOSS and probe is not None:
            module = probe.nonfinite_module()
            if module is not None:
                reason += f" (first non-finite output: {module})"
        self.add("nonfinite", event, reason)

    def _backward(self, event: PhaseEvent, probe: Probe | None) -> None:
        # A source that tracks each parameter's .grad says at the step instead (a GAN's
        # generator loss adds onto the discriminator's stepped grads, harmlessly: they are
        # zeroed before the discriminator's next step).
        per_parameter = probe is not None and probe.stale_grads() is not None
        if self._stepped and not per_parameter:
            self.add(
                "zero-grad-missing",
                event,
                f"backward added onto gradients already used by optimizer.step() ({self._backwards + 1} passes in .grad)",
            )
        self._backwards += 1
        self._batches.add((event.epoch, event.batch))
        if event.loss:
            bp = event.backpropagated
            self._scales.append(1.0 if bp is None else bp / event.loss)
        self._backward_count += 1
        self._backward_location = str(event.location) if event.location is not None else None
        sampled = self._backward_count <= DENSE or self._backward_count % self.grad_every == 0
        if probe is None or not (sampled or self._suspect):
            return
        self._suspect = False
        norms = self.measure.grad_norms(event, probe)
        self._nonfinite(event, probe)
        finite = {n: v for n, v in norms.items() if math.isfinite(v)}
        if len(finite) != len(norms) or not finite:
            return
        total = total_norm(finite)
        if len(self._norms) >= 8:
            median = statistics.median(self._norms)
            if median > 0 and total > 50 * median:
                top = max(finite, key=finite.get)
                self.add(
                    "exploding-grad",
                    event,
                    f"gradient norm {total:.4g} is {total / median:.0f}× its recent median {median:.4g} (largest: {top})",
                )
        self._norms.append(total)
        largest = max(finite.values())
        for name, value in finite.items():
            if name.endswith("bias") or largest <= 0:
                continue
            if value < 1e-6 * largest:
                self._small[name] = self._small.get(name, 0) + 1
                if self._small[name] >= 5:
                    self.add(
                        "vanishing-grad",
                        event,
                        f"{name}.grad norm {value:.3g} is below 1e-6 of the largest layer's {largest:.3g}",
                    )
            else:
                self._small.pop(name, None)

    def _stepped_without_grad(self, event: PhaseEvent, probe: Probe) -> None:
        """Parameters an optimizer stepped at its first ``UNUSED_STEPS`` steps with ``.grad``
        None each time: no backward reaches them (the finding points at the last backward).
        Judged per optimizer at its own steps, not over the first backwards: a WGAN's first
        ten backwards are the critic's, and its generator's parameters are only due a
        gradient at the generator's turn."""
        steps = self._steps.get(event.series, 0) + 1
        self._steps[event.series] = steps
        if steps > UNUSED_STEPS:
            return
        missing = self._missing.setdefault(event.series, {})
        now = probe.missing_grads(event.series)  # in the model's order, which the message keeps
        for name in now:
            missing[name] = missing.get(name, 0) + 1
        present = set(now)
        for name in [n for n in missing if n not in present]:
            del missing[name]
        if steps < UNUSED_STEPS:
            return
        unused = [n for n, count in missing.items() if count >= UNUSED_STEPS]
        if not unused:
            return
        names = ", ".join(unused[:4]) + (f" (+{len(unused) - 4} more)" if len(unused) > 4 else "")
        who = event.detail or "the step"
        if probe.searches_unused():
            self.add(
                "ddp-unused-params",
                event,
                f"DistributedDataParallel(find_unused_parameters=True): {names} got no "
                "gradient in any backward",
                location=self._backward_location,
            )
        else:
            message = f".grad is None at {who} for {names}"
            self.add("param-no-grad", event, message, location=self._backward_location)


def diagnostics_of(stepper: Stepper) -> Diagnostics | None:
    for observer in stepper.observers:
        if isinstance(observer, Diagnostics):
            return observer
    return None
