"""The interceptor asleep: while nobody looks at a run (``loopstep run --listen`` with no
front end attached), the hooks that cost the most come off and the script runs at the
speed of the bare loop.

Global module hooks send every module call down torch's slow path, and each phase costs a
report; asleep, only a few sentinels stay on: the optimizer's post-step hook and the
wrapped ``backward``, ``zero_grad`` and DataLoader fetch, each a flag test when the run is
asleep. They keep counting iterations, batches and epochs, so the first phase after waking
has the numbers a run awake all along would have given it; and at their safe points (a
step or a backward just over, nothing in progress) the interceptor falls asleep or wakes,
in the training thread, as the stepper last asked (:meth:`report_phases`, any thread).

A ``nan`` stop condition does not keep the run awake: asleep, the sentinels look once an
iteration at the loss (before its backward), the grads (after it) and the parameters
(after the step), one fused norm each. The first one that is not finite wakes the
interceptor, which reports that phase as an awake run would have, and the condition
fires there, before the next phase runs. What is not known asleep is which module first
made the NaN (that takes a hook on every module): the reason says where it was seen.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from .tracker import PhaseTracker


def _finite(tensors: list[torch.Tensor]) -> bool:
    """One fused norm per device and dtype, summed: NaN and Inf reach the sum."""
    if not tensors:
        return True
    with torch.no_grad():
        norms = torch._foreach_norm(tensors)
        try:
            total = torch.stack(norms).sum(dtype=torch.float32)
        except RuntimeError:  # several dtypes or devices
            total = sum(n.float().cpu() for n in norms)
        return math.isfinite(total.item())


def _finite_loss(loss: torch.Tensor) -> bool:
    if loss.numel() == 1:
        return math.isfinite(loss.item())
    return _finite([loss.detach()])


class Sleeping:
    tracker: PhaseTracker
    thread_id: int
    active: bool
    stack: list
    busy: bool

    #: The hooks are off: only the sentinels run.
    asleep = False
    #: What the stepper last asked for (set from any thread, acted on in the training thread).
    _sleep_wanted = False
    #: Asleep, look for a NaN/Inf in the loss, grads and parameters (a ``nan`` condition).
    _watch_nonfinite = False
    #: This process is a fork of the training process (a DataLoader worker): never wake here.
    forked = False
    #: Told True on falling asleep and False on waking (the probe's own hooks sleep too).
    on_sleep: Callable[[bool], None] | None = None
    _params: tuple[int, list] = (-1, [])

    def report_phases(self, wanted: bool, asleep_watch: frozenset[str] = frozenset()) -> None:
        self._watch_nonfinite = "nonfinite" in asleep_watch
        self._sleep_wanted = not wanted

    def _install_phase_hooks(self) -> None: ...

    def _remove_phase_hooks(self) -> None: ...

    def settle(self) -> None:
        """At a safe point of the training thread: fall asleep or wake, as last asked."""
        wanted = self._sleep_wanted
        if wanted is self.asleep or self.forked or self.stack or self.busy or self.tracker.in_step:
            return
        if not wanted:
            self._wake()
        elif not self._watch_nonfinite or self._watched_params():  # a NaN watch needs the params known
            self._remove_phase_hooks()
            self.active = False
            self.asleep = True
            if self.on_sleep is not None:
                self.on_sleep(True)

    def _wake(self, *, mid_iteration: bool = False) -> None:
        self._install_phase_hooks()
        _tracker_woke(self.tracker, mid_iteration)
        self.asleep = False
        self.active = True
        if self.on_sleep is not None:
            self.on_sleep(False)

    def _asleep_here(self, get_ident) -> bool:
        return self.asleep and not self.forked and get_ident() == self.thread_id

    def _watched_params(self) -> list:
        models = self.tracker.models
        version, params = self._params
        if version != models.version:
            self._params = (models.version, [p for _, p in models.named])
        return self._params[1]

    # ----- the sentinels ------------------------------------------------------------------------
    def asleep_loss_ok(self, loss: torch.Tensor) -> bool:
        """Before a backward while asleep: False when its loss is not finite; the interceptor
        is awake then, the loss phase reported, and the backward runs as an awake one."""
        if not self._watch_nonfinite or _finite_loss(loss):
            return True
        self._wake(mid_iteration=True)
        self.tracker.report_loss(loss)
        return False

    def asleep_backward(self, loss: torch.Tensor) -> None:
        tracker = self.tracker
        tracker.counter.asleep_backward()
        if self._watch_nonfinite and not _finite(
            [p.grad for p in self._watched_params() if p.grad is not None]
        ):
            self._wake(mid_iteration=True)
            tracker.backward(loss, lambda: None)  # reported as it ran: the condition sees its grads
            return
        if tracker.updates.optimizer_seen or tracker.models.live_optimizers():
            return  # only a step is a safe point then: a backward may run inside step(closure)
        tracker.counter.asleep_step("by hand")  # no optimizer: an update by hand follows each backward
        self.settle()
        if not self.asleep:
            tracker.updates.after_backward(tracker.watch.named)  # so the update that follows is seen

    def asleep_step(self, optimizer: Any) -> None:
        tracker = self.tracker
        tracker.counter.asleep_step(id(optimizer))
        tracker.updates.optimizer_seen = True
        if self._watch_nonfinite and not _finite([p.detach() for p in self._watched_params()]):
            self._wake()
            tracker.after_step(optimizer)  # reported: the condition sees the parameters it made
            return
        self.settle()

    def backward_done(self) -> None:
        """Awake, a top-level backward just ended: a script without an optimizer falls asleep here."""
        tracker = self.tracker
        if not self._sleep_wanted or tracker.updates.optimizer_seen or tracker.models.live_optimizers():
            return
        self.settle()
        if self.asleep:
            tracker.counter.asleep_step("by hand")  # the update that follows this backward

    def asleep_fetch(self, iterator: Any) -> None:
        self.tracker.counter.asleep_fetch()
        self.tracker.note_fetch(iterator)


def _tracker_woke(tracker: PhaseTracker, mid_iteration: bool) -> None:
    """What the tracker knew from before it slept is not about the phase it wakes to."""
    tracker.used_by_step = {}
    tracker.stale_at_step = []
    tracker.step_losses = {}
    tracker.manual_loss = 0.0
    tracker.last_loss = None
    tracker.loss_tensor = None
    tracker.forward_output = None
    tracker.loss_seen = False
    tracker.training_forward_since_step = mid_iteration
    tracker.updates.forget()
    tracker._copied = False  # no copy of the parameters was taken before this step
    tracker.watch.new_batch()
    tracker.facts.grads_stepped = tracker.counter.stepped and not mid_iteration
    tracker.counter.woke(mid_iteration)
