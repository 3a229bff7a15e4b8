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
from .phases import Phase, PhaseEvent
from .probes import Measure, Probe, probe_of, total_norm

if TYPE_CHECKING:
    from .stepper import Stepper

DENSE = 10  # backwards that are always checked
WINDOW = 10  # losses per window for the trend checks
FLAT_CHECKS = (3 * WINDOW, 100)  # iterations at which loss-flat is judged


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
        self._missing: dict[str, int] = {}  # trainable params with .grad None: consecutive backwards
        self._norms: deque[float] = deque(maxlen=32)
        self._small: dict[str, int] = {}
        #: Finite losses per loss name: a GAN's errD and errG are judged apart.
        self._losses: dict[str, list[float]] = {}
        self._mode_layers: tuple[str, ...] | None = None
        self._stepped_once = False
        self._first_step_iteration: int | None = None
        self._suspect = False  # a non-finite loss: check the next backward's gradients
        self._first_median: dict[str, float] = {}
        #: Several optimizers step (a GAN): adversarial losses need not fall, so no loss-flat.
        self._several_optimizers = False
        self._flat_judged: set[int] = set()

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
                    self._losses.setdefault(event.detail, []).append(event.loss)
                    self._trend(event)
                else:
                    self._suspect = True
                    self._nonfinite(event, probe)
        elif phase is Phase.BACKWARD:
            self._backward(event, probe)
        elif phase is Phase.STEP or phase is Phase.UPDATE:
            if event.series:
                self._several_optimizers = True
            if not self._stepped_once and phase is Phase.STEP:
                self._first_step(event, probe)
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
        self._losses = {}
        for point in stepper.history.batches:
            if math.isfinite(point.loss):
                self._losses.setdefault(point.series, []).append(point.loss)
        # What is judged once, or over a run of passes, is judged again on the replay.
        if self._first_step_iteration is not None and self._first_step_iteration >= iteration:
            self._stepped_once = False
        self._missing = {}
        self._small = {}
        self._flat_judged = {i for i in self._flat_judged if i < iteration}
        self._first_median = {
            name: median
            for name, median in self._first_median.items()
            if len(self._losses.get(name, ())) >= WINDOW
        }

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
        sampled = self._backward_count <= DENSE or self._backward_count % self.grad_every == 0
        if probe is None or not (sampled or self._suspect):
            return
        self._suspect = False
        norms = self.measure.grad_norms(event, probe)
        self._nonfinite(event, probe)
        if self._backward_count <= 3:
            for name in probe.trainable():
                if name not in norms:
                    self._missing[name] = self._missing.get(name, 0) + 1
                else:
                    self._missing.pop(name, None)
            if self._backward_count == 3:
                unused = [n for n, count in self._missing.items() if count >= 3]
                if unused and probe.searches_unused():
                    names = ", ".join(unused[:4]) + (f" (+{len(unused) - 4} more)" if len(unused) > 4 else "")
                    self.add(
                        "ddp-unused-params",
                        event,
                        f"DistributedDataParallel(find_unused_parameters=True): {names} got no "
                        "gradient in any backward",
                    )
                elif unused:
                    self.add(
                        "param-no-grad", event, f".grad is None after backward for {', '.join(unused[:4])}"
                    )
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

    def _trend(self, event: PhaseEvent) -> None:
        name = event.detail
        losses = self._losses[name]
        n = len(losses)
        judge_flat = (
            event.iteration in FLAT_CHECKS
            and event.iteration not in self._flat_judged
            and not self._several_optimizers
        )
        if n < 2 * WINDOW or (n % WINDOW and not judge_flat):
            return
        if name not in self._first_median:
            self._first_median[name] = statistics.median(losses[:WINDOW])
        first = self._first_median[name]
        last = statistics.median(losses[-WINDOW:])
        if last > 3 * first and last > 3 * min(losses):
            what = f"median {name}" if name else "median loss"
            self.add("loss-diverging", event, f"{what} rose from {first:.4g} to {last:.4g}")
        if judge_flat:
            self._flat_judged.add(event.iteration)
            if last >= 0.8 * first and _no_trend(losses):
                self.add(
                    "loss-flat",
                    event,
                    f"loss shows no trend over {n} losses (median {first:.4g} → {last:.4g})",
                )


def _no_trend(losses: list[float]) -> bool:
    """True when a straight-line fit neither falls nor rises by more than twice its
    standard error: batch-to-batch noise without any learning."""
    n = len(losses)
    mean_x = (n - 1) / 2
    mean_y = sum(losses) / n
    sxx = sum((i - mean_x) ** 2 for i in range(n))
    slope = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(losses)) / sxx
    residual = sum((v - mean_y - slope * (i - mean_x)) ** 2 for i, v in enumerate(losses)) / max(n - 2, 1)
    stderr = math.sqrt(residual / sxx)
    return abs(slope) <= 2 * stderr + 1e-12 * abs(mean_y)


def diagnostics_of(stepper: Stepper) -> Diagnostics | None:
    for observer in stepper.observers:
        if isinstance(observer, Diagnostics):
            return observer
    return None
