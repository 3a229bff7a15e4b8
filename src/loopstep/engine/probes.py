"""What stop conditions and diagnostics ask of a source, beyond a snapshot.

A source offers a probe as ``source.probe`` (None: a source without one still steps; the
checks that need it stay silent). Every answer is
meant to be cheap enough for continue mode: gradient norms come from one fused
computation and one host copy, and the costly watches (activations, updates) run only
after a condition has switched them on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class ForwardFacts:
    """How the last forward ran: in train mode or not, and whether it built an autograd graph."""

    training: bool
    builds_graph: bool


@dataclass(frozen=True)
class UnusedForward:
    """A forward that no backward reached (judged once its batch was over): an evaluation,
    a sampling or logging pass; where it ran, and how."""

    training: bool
    builds_graph: bool
    iteration: int
    location: object = None  # the SourceLocation of the call, where known


@dataclass(frozen=True)
class LoaderFinding:
    """A mistake seen in how the script reads its data (a DDP job's samplers): the finding's
    id in the catalog, what was seen, and where the pass over the loader began."""

    id: str
    message: str
    iteration: int
    location: object = None  # the SourceLocation of `for batch in loader`, where known


@runtime_checkable
class Probe(Protocol):
    def grad_norms(self) -> dict[str, float]:
        """L2 norm of each parameter's ``.grad``; parameters whose ``.grad`` is None are left out."""
        ...

    def stepped_grad_norms(self, optimizer: str) -> dict[str, float]:
        """As :meth:`grad_norms`, for the parameters the optimizer of that name steps (a run
        with several, a GAN's netD's and netG's); "": every parameter."""
        ...

    def trainable(self) -> tuple[str, ...]:
        """Names of the parameters that require grad."""
        ...

    def missing_grads(self, optimizer: str) -> tuple[str, ...]:
        """At a step: the trainable parameters the optimizer of that name steps ("": every
        trainable parameter) whose ``.grad`` is None: no backward reached them."""
        ...

    def not_in_optimizer(self) -> tuple[str, ...]:
        """Trainable parameters that no optimizer knows (empty when no optimizer is known)."""
        ...

    def mode_layers(self) -> tuple[str, ...]:
        """Modules that act differently in train and eval mode (Dropout, BatchNorm)."""
        ...

    def forward_facts(self) -> ForwardFacts | None: ...

    def unused_forwards(self) -> list[UnusedForward]:
        """Forwards judged, since the last call, to have had no backward."""
        ...

    def loader_findings(self) -> list[LoaderFinding]:
        """Data mistakes seen since the last call (a script's DataLoaders; else none)."""
        ...

    def searches_unused(self) -> bool:
        """Whether a model is wrapped in DistributedDataParallel with
        ``find_unused_parameters=True`` (it then looks for parameters no backward reaches)."""
        ...

    def params_finite(self) -> bool:
        """No parameter holds a NaN/Inf (judged element by element: a norm overflows)."""
        ...

    def nonfinite_grads(self) -> tuple[str, ...]:
        """The parameters whose ``.grad`` holds a NaN/Inf, judged element by element: the
        2-norm of finite values can overflow (a float16 grad's, past 65504)."""
        ...

    def grads_cleared(self) -> bool:
        """Every ``.grad`` is None or zero (a reset the source did not report as zero_grad)."""
        ...

    def watch_nonfinite(self, on: bool) -> None:
        """Watch every module's output so :meth:`nonfinite_module` can name the first bad one."""
        ...

    def nonfinite_module(self) -> str | None:
        """Path of the first module whose output in the last forward held NaN/Inf
        ("input" for the batch itself), or None."""
        ...

    def watch_updates(self, on: bool) -> None:
        """Keep the parameters from before each optimizer step, for :meth:`update_ratio`."""
        ...

    def update_ratio(self) -> float | None:
        """‖Δθ‖ / ‖θ‖ over all parameters for the last optimizer step."""
        ...

    def stale_grads(self) -> list[str] | None:
        """At a step: the parameters whose .grad it used still held gradients an earlier step
        had used (no zero_grad between): [] when none; None when the source cannot tell
        parameter by parameter (the diagnostics then judge from the phases alone)."""
        ...

    def close(self) -> None:
        """The run is over: remove whatever the watches installed."""
        ...


def probe_of(source: Any) -> Probe | None:
    """The source's probe, or None when it has none (yet: a script builds its model late)."""
    return source.probe


def total_norm(norms: Mapping[str, float]) -> float:
    return math.sqrt(sum(n * n for n in norms.values()))


class Measure:
    """Per-event cache shared by the conditions and diagnostics of one run, so that two
    checks at the same event pay for one gradient-norm computation."""

    def __init__(self) -> None:
        self._event: object = None
        self._grad_norms: dict[str, float] | None = None

    def grad_norms(self, event: object, probe: Probe) -> dict[str, float]:
        if event is not self._event or self._grad_norms is None:
            self._event = event
            self._grad_norms = probe.grad_norms()
        return self._grad_norms
