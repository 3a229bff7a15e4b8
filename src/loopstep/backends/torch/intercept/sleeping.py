"""The interceptor asleep: while nobody looks at a run (``loopstep run --listen`` with no
front end attached, no stop condition armed), the hooks that cost the most come off and
the script runs at the speed of the bare loop.

Global module hooks send every module call down torch's slow path, and each phase costs a
report; asleep, only a few sentinels stay on: the optimizer's post-step hook and the
wrapped ``backward``, ``zero_grad`` and DataLoader fetch, each a flag test when the run is
asleep. They keep counting iterations, batches and epochs, so the first phase after waking
has the numbers a run awake all along would have given it; and at their safe points (a
step or a backward just over, nothing in progress) the interceptor falls asleep or wakes,
in the training thread, as the stepper last asked (:meth:`report_phases`, any thread).
"""

from __future__ import annotations

from typing import Any

from .tracker import PhaseTracker


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
    #: This process is a fork of the training process (a DataLoader worker): never wake here.
    forked = False

    def report_phases(self, wanted: bool) -> None:
        self._sleep_wanted = not wanted

    def _install_phase_hooks(self) -> None: ...

    def _remove_phase_hooks(self) -> None: ...

    def settle(self) -> None:
        """At a safe point of the training thread: fall asleep or wake, as last asked."""
        wanted = self._sleep_wanted
        if wanted is self.asleep or self.forked or self.stack or self.busy or self.tracker.in_step:
            return
        if wanted:
            self._remove_phase_hooks()
            self.active = False
            self.asleep = True
        else:
            self._install_phase_hooks()
            _tracker_woke(self.tracker)
            self.asleep = False
            self.active = True

    def _asleep_here(self, get_ident) -> bool:
        return self.asleep and not self.forked and get_ident() == self.thread_id

    def asleep_step(self, optimizer: Any) -> None:
        tracker = self.tracker
        tracker.counter.asleep_step(id(optimizer))
        tracker.updates.optimizer_seen = True
        self.settle()

    def asleep_backward(self) -> None:
        tracker = self.tracker
        tracker.counter.asleep_backward()
        if tracker.updates.optimizer_seen or tracker.models.live_optimizers():
            return  # only a step is a safe point then: a backward may run inside step(closure)
        tracker.counter.asleep_step("by hand")  # no optimizer: an update by hand follows each backward
        self.settle()
        if not self.asleep:
            tracker.updates.after_backward(tracker.watch.named)  # so the update that follows is seen

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


def _tracker_woke(tracker: PhaseTracker) -> None:
    """What the tracker knew from before it slept is not about the phase it wakes to."""
    tracker.used_by_step = {}
    tracker.stale_at_step = []
    tracker.step_losses = {}
    tracker.manual_loss = 0.0
    tracker.last_loss = None
    tracker.loss_tensor = None
    tracker.forward_output = None
    tracker.loss_seen = False
    tracker.training_forward_since_step = False
    tracker.updates.forget()
    tracker.watch.new_batch()
    tracker.facts.grads_stepped = tracker.counter.stepped
    tracker.counter.woke()
