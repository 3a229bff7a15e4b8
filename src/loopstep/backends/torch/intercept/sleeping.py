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
(after the step), one reduction each (:func:`..norms.all_finite`). The first one that is not finite wakes the
interceptor, which reports that phase as an awake run would have, and the condition
fires there, before the next phase runs. What is not known asleep is which module first
made the NaN (that takes a hook on every module): the reason says where it was seen.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

import torch

from ....engine.phases import SourceLocation
from ..norms import NormReader, all_finite
from .frames import framework_location, user_location
from .models import unwrap_optimizer
from .tracker import PhaseTracker


def _finite_loss(loss: torch.Tensor) -> bool:
    if loss.numel() == 1:
        return math.isfinite(loss.item())
    return all_finite([loss.detach()])


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
    #: The parameters' NumPy views, kept from step to step for the ``nan`` watch's check.
    _params_reader: NormReader
    #: Asleep: the last step or zero_grad the sentinels saw (kind, optimizer or owner), and
    #: the last loss backpropagated: what the run's last phase was, if it ends asleep.
    _last_asleep: tuple[str, Any, tuple] | None = None  # (kind, subject, (user, framework, mode, lr))
    _asleep_loss: torch.Tensor | None = None
    #: Asleep: the last loss function's result since the last backward (the loss before a
    #: ``/ accumulation_steps``: what an awake run reports as the loss).
    _asleep_loss_computed: torch.Tensor | None = None
    #: Where that loss was computed (as ``report_late`` takes it) and its label, with a
    #: ``nan`` watch; the labels known per calling code.
    _loss_site: tuple | None = None
    _loss_label = ""
    _loss_labels: dict | None = None
    #: The front end shows the run's last phase: a script without an optimizer stays awake
    #: (asleep, nothing sees its update by hand).
    _exact_end = False
    #: Asleep, inside an optimizer's step (an LBFGS closure's phases run there); whether the
    #: step in progress ran its closure's first backward.
    _asleep_stepping = False
    _asleep_closure_ran = False
    #: The call sites :meth:`_where_now` looked up, and their lines (a loop's step and
    #: zero_grad come from two: one remembered site would be looked up again at each).
    _where_seen: dict | None = None

    def report_phases(self, wanted: bool, asleep_watch: frozenset[str] = frozenset()) -> None:
        self._watch_nonfinite = "nonfinite" in asleep_watch
        self._exact_end = "last_phase" in asleep_watch
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
        elif self._exact_end and self.tracker.counter.iteration < 1:
            return  # the last phase is reported by name: every optimizer of an iteration named first
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
        computed, site = self._asleep_loss_computed, self._loss_site
        counter = self.tracker.counter
        if not self._asleep_closure_ran and not counter.batches_from_loader:
            counter.asleep_backward(2)  # this batch, which its backward would have counted
        self._wake(mid_iteration=True)
        if computed is None or site is None:
            self.tracker.report_loss(loss)
        else:  # as an awake run reports it: the loss function's result, on its line
            label = self._loss_label
            self.tracker.report_late(site, lambda: self.tracker.report_loss(computed, site[0], label))
        return False

    def asleep_step_starts(self) -> None:
        self._asleep_stepping = True

    def asleep_before_backward(self) -> tuple:
        return self.tracker.watch.before_backward(detail=False)

    def asleep_backward(self, loss: torch.Tensor, before: tuple | None = None) -> None:
        tracker = self.tracker
        if before is not None:
            tracker.watch.after_backward(before, detail=False)  # the passes each .grad holds
        computed, self._asleep_loss_computed = self._asleep_loss_computed, None
        # Inside step(closure) (LBFGS) only the closure's first evaluation counts, as awake:
        # its loss is the step's, and its batch the only one.
        if not self._asleep_closure_ran:
            self._asleep_loss = computed if computed is not None else loss
            self._asleep_closure_ran = self._asleep_stepping
            counter = tracker.counter
            if not counter.batches_from_loader:  # else the fetches count them
                counter.asleep_backward(2)
        if self._watch_nonfinite and not all_finite(
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
        self._asleep_stepping = self._asleep_closure_ran = False
        tracker.counter.asleep_step(id(optimizer))
        self._last_asleep = ("step", optimizer, (*self._where_now(), *self._mode_now()))
        tracker.updates.optimizer_seen = True
        if self._watch_nonfinite and not self._params_reader.all_finite(self._watched_params()):
            self._wake()
            tracker.after_step(optimizer)  # reported: the condition sees the parameters it made
            return
        self.settle()

    def asleep_loss_computed(self, output: Any, function: str) -> None:
        """A functional loss (``function``: ``mse_loss``) returned ``output``, asleep."""
        if isinstance(output, torch.Tensor) and output.requires_grad and output.numel() == 1:
            self._asleep_loss_computed = output
            if self._watch_nonfinite:  # a loss phase may be reported from it: where and how it ran
                self._loss_site = (*self._where_now(), *self._mode_now())
                self._loss_label = self._label_of(function)

    def _label_of(self, function: str) -> str:
        """As an awake run labels the loss: its loss module's class (``MSELoss``, whose forward
        called the function), else ``F.mse_loss``; known per calling code, looked up once."""
        caller = sys._getframe(3)
        labels = self._loss_labels
        if labels is None or len(labels) > _WHERE_SITES:
            labels = self._loss_labels = {}
        key = (caller.f_code, function)
        label = labels.get(key)
        if label is None:
            owner = caller.f_locals.get("self")
            loss_module = isinstance(owner, torch.nn.modules.loss._Loss)
            label = labels[key] = type(owner).__name__ if loss_module else f"F.{function}"
        return label

    def asleep_zero_grad(self, owner: Any) -> None:
        target = unwrap_optimizer(owner)
        if isinstance(target, torch.optim.Optimizer):
            self.tracker.watch.cleared([p for group in target.param_groups for p in group["params"]])
        elif isinstance(target, torch.nn.Module):
            self.tracker.watch.cleared(list(target.parameters()))
        self._last_asleep = ("zero_grad", owner, (*self._where_now(), *self._mode_now()))

    def _where_now(self) -> tuple[SourceLocation | None, SourceLocation | None]:
        """The lines of the step or zero_grad in progress, looked up only for a call site not
        seen before (a loop calls each from the same instructions)."""
        caller = sys._getframe(3)  # the user's (or a framework's, or torch's step wrapper's)
        outer = caller.f_back
        key = (caller.f_code, caller.f_lasti, outer.f_code if outer else None, outer.f_lasti if outer else -1)
        seen = self._where_seen
        if seen is None or len(seen) > _WHERE_SITES:
            seen = self._where_seen = {}
        where = seen.get(key)
        if where is None:
            where = seen[key] = _where(4)
        return where

    def _mode_now(self) -> tuple[tuple[str, bool], float | None]:
        """The model's mode, grad on or off and the lr now: a phase reported late has its own."""
        model = self.tracker.watch.model
        mode = "train" if model is None or model.training else "eval"
        return (mode, torch.is_grad_enabled()), self.tracker.current_lr()

    def report_last_phase(self) -> None:
        """The script ended asleep: wake and report the last phase it ran that a sentinel
        saw (its last step or zero_grad, with its last loss), so the run ends on the state
        the script left, numbered as an awake run would have numbered it, not on the last
        phase reported before it fell asleep."""
        if not self.asleep or self.forked:
            return
        last, self._last_asleep = self._last_asleep, None
        loss, self._asleep_loss = self._asleep_loss, None
        self._wake()
        tracker = self.tracker
        if loss is not None and loss.numel() == 1:
            tracker.last_loss = float(loss.detach())
        if last is None:
            return
        kind, subject, where = last
        if kind == "step":
            tracker.report_late(where, lambda: tracker.after_step(subject))
        else:
            tracker.report_late(where, lambda: tracker.zero_grad(subject, lambda: None))

    def backward_done(self) -> None:
        """Awake, a top-level backward just ended: a script without an optimizer falls asleep here."""
        tracker = self.tracker
        if not self._sleep_wanted or tracker.updates.optimizer_seen or tracker.models.live_optimizers():
            return
        if self._exact_end:
            return
        self.settle()
        if self.asleep:
            tracker.counter.asleep_step("by hand")  # the update that follows this backward

    def asleep_fetch(self) -> None:
        self.tracker.counter.asleep_fetch()


#: The call sites :meth:`Sleeping._where_now` remembers before it starts afresh.
_WHERE_SITES = 64


def _where(skip: int) -> tuple[SourceLocation | None, SourceLocation | None]:
    """The user's line that made the call in progress, and a framework's (Lightning's) that
    made it for them: what an awake run would report it at."""
    user = user_location(skip + 1)
    return user, framework_location(skip + 1, user)


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
