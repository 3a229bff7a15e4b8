"""Epoch, batch and iteration of a script, counted as the script trains.

- A **batch** (micro-batch) starts at the first training forward after the training
  DataLoader gave a batch; without a DataLoader, at the first training forward after a
  backward, when it came round the loop since that backward (:mod:`.positions`): the forwards
  of a backbone and a head, or of a GAN's two models on one batch, are one batch; with
  gradient accumulation each micro-step is one. (A framework's loop frames die and are made
  anew for each batch, at the same addresses: a fetch is the surer sign there.)
- An **iteration** is the batches one round of optimizer steps used: it starts at the first
  batch after a step, or at a step of an optimizer that already stepped in it (an LBFGS
  loop of ``step(closure)`` calls). Several optimizers stepping on one batch (a GAN) are one
  iteration; a hand-written update counts as a step.
- An **epoch** starts when the training batches come from a new pass over their DataLoader
  (a new iterator; loaders that read one batch ahead do not shift it); without a DataLoader,
  when the script's own ``epoch`` variable changes; with neither, there is one epoch.

Batches are counted here, not read from the loader's position, which is one ahead in
loaders that read ahead (accelerate's, Lightning's).
"""

from __future__ import annotations

import sys
import weakref
from dataclasses import dataclass, field
from typing import Any

from .frames import is_user_file
from .positions import came_round, is_main, position


@dataclass
class Counter:
    epoch: int = 0
    batch: int = -1  # index of the current batch in its epoch (-1: none yet)
    iteration: int = 0
    #: A step (or update) happened since the current iteration's first batch.
    stepped: bool = False
    _stepped_optimizers: set = field(default_factory=set)
    _last_backward: tuple | None = None
    #: A training forward ran since the last backward: later ones are in its batch.
    _forward_since_backward: bool = False
    #: The DataLoader iterator the current epoch's batches come from (weak), and one per
    #: iterator: whether a validation pass read from it (its batches are not training's).
    _epoch_iterator: Any = None
    _latest_fetch: Any = None
    _validation_iterators: weakref.WeakSet = field(default_factory=weakref.WeakSet)
    _epoch_variable: Any = None
    #: The training DataLoader gave a batch since the last training forward.
    _fetched_since_forward: bool = False
    #: The interceptor just woke: the next training forward starts a batch of its own.
    _woke: bool = False

    # ----- what the tracker reports ------------------------------------------------------------
    def fetched(self, iterator: Any, validating: bool) -> None:
        """A DataLoader gave a batch (``validating``: while a validation pass runs)."""
        ref = _ref(iterator)
        if validating:
            if ref is not None:
                self._validation_iterators.add(iterator)
            return
        if iterator not in self._validation_iterators:
            self._latest_fetch = ref
            self._fetched_since_forward = True

    def validated_from(self, iterator: Any) -> None:
        """A validation forward ran on the latest fetch: that iterator is validation's."""
        if iterator is not None and _ref(iterator) is not None:
            self._validation_iterators.add(iterator)
            if self._latest_fetch is not None and self._latest_fetch() is iterator:
                self._latest_fetch = None

    def training_forward(self, now: tuple, epoch_variable: Any = None) -> bool:
        """A training forward at position ``now``; True when it starts a new batch."""
        fetched, self._fetched_since_forward = self._fetched_since_forward, False
        woke, self._woke = self._woke, False
        if (
            not woke
            and self.batch >= 0
            and not fetched
            and (self._forward_since_backward or not came_round(now, self._last_backward))
        ):
            self._forward_since_backward = True
            return False  # more of the same batch: a backbone's head, a GAN's other model
        self._forward_since_backward = True
        if self.stepped:  # a new batch after the steps that used the last ones: a new iteration
            self._next_iteration()
        self._count_batch(epoch_variable)
        return True

    def backward(self, now: tuple) -> None:
        self._last_backward = now
        self._forward_since_backward = False

    def step_starts(self, optimizer_key: int) -> None:
        """An optimizer is about to step: a second step of the same one is a new iteration."""
        if optimizer_key in self._stepped_optimizers:
            self._next_iteration()

    def stepped_now(self, optimizer_key: Any) -> None:
        self._stepped_optimizers.add(optimizer_key)
        self.stepped = True

    @property
    def batches_from_loader(self) -> bool:
        """The training batches come from a DataLoader: its fetches count them."""
        return self._latest_fetch is not None or self._epoch_iterator is not None

    # ----- while the interceptor sleeps (:mod:`.sleeping`): steps, fetches and backwards only ----
    def asleep_step(self, optimizer_key: Any) -> None:
        """A step while asleep: a second one of the same optimizer starts the next iteration
        (awake, the forward after a step does; the numbers agree from each phase on)."""
        self.step_starts(optimizer_key)
        self.stepped_now(optimizer_key)

    def asleep_fetch(self) -> None:
        """Before a fetch while asleep: the training batch fetched last, that no forward took
        (none is seen asleep), was a batch; the newest one is left for a forward to take."""
        if self._fetched_since_forward:
            self._fetched_since_forward = False
            self._count_batch(None)

    def asleep_backward(self, skip: int) -> None:
        """Without a DataLoader, a backward while asleep (at position ``now``) starts a batch
        (of the epoch the script's ``epoch`` variable says) when the loop came round since the
        last one: each micro-batch of gradient accumulation is one, a GAN's backwards on one
        batch are one, as an awake run counts them from the forwards."""
        if self.batches_from_loader:
            return
        before = self._last_backward
        self._last_backward = now = position(skip + 1, since=before)
        if before is None or now == before or came_round(now, before):
            self._count_batch(epoch_variable())

    def woke(self, mid_iteration: bool = False) -> None:
        """Woken after the update of a batch no forward was seen for: that batch counts now.
        Woken inside an iteration (before its step): it is the next one, as awake."""
        self.asleep_fetch()
        self._woke = True
        self._last_backward = None
        self._forward_since_backward = mid_iteration
        if mid_iteration and self.stepped:
            self._next_iteration()

    # ----- internals ---------------------------------------------------------------------------------
    def _count_batch(self, epoch_variable: Any) -> None:
        if self._new_epoch(epoch_variable):
            self.epoch += 1
            self.batch = 0
        else:
            self.batch += 1

    def _next_iteration(self) -> None:
        self.iteration += 1
        self.stepped = False
        self._stepped_optimizers = set()

    def _new_epoch(self, epoch_variable: Any) -> bool:
        latest = self._latest_fetch() if self._latest_fetch is not None else None
        if latest is not None:
            first = self._epoch_iterator is None
            changed = not first and self._epoch_iterator() is not latest
            self._epoch_iterator = self._latest_fetch
            if first:
                self._epoch_variable = epoch_variable
            return changed
        if epoch_variable is not None and self._epoch_variable is not None:
            changed = epoch_variable != self._epoch_variable
            self._epoch_variable = epoch_variable
            return changed
        if self._epoch_variable is None:
            self._epoch_variable = epoch_variable
        return False


def _ref(obj: Any):
    try:
        return weakref.ref(obj)
    except TypeError:
        return None


def epoch_variable() -> Any:
    """The script's own ``epoch`` loop variable, where it has one (used without a DataLoader)."""
    frame = sys._getframe(3)
    holders = _EPOCH_HOLDERS
    while frame is not None:
        code = frame.f_code
        holder = holders.get(code)
        if holder is None:
            holder = holders[code] = _epoch_holder(code)
        if holder is not _NOT_HOLDER:
            # A function's f_locals is built anew at each read: read only where it can hold `epoch`.
            value = (frame.f_globals if holder is _MODULE else frame.f_locals).get("epoch")
            if isinstance(value, int):
                return value
            if holder is _MODULE and is_main(frame):
                return None  # the script's top level: no code of the user's below it
        frame = frame.f_back
    return None


def _epoch_holder(code: Any) -> str:
    """Where a frame of this code could keep an ``epoch`` variable of the user's: its module's
    globals (top-level code), its locals (a function that names one), or nowhere."""
    if not is_user_file(code.co_filename):
        return _NOT_HOLDER
    if not code.co_flags & _FUNCTION:
        return _MODULE  # the top level: its locals are its globals
    if "epoch" in code.co_varnames or "epoch" in code.co_cellvars:
        return _LOCALS
    return _NOT_HOLDER


#: Per code object, looked up once: the frames of a loop are walked at every backward asleep.
_EPOCH_HOLDERS: dict[Any, str] = {}
_NOT_HOLDER, _MODULE, _LOCALS = "none", "module", "locals"
_FUNCTION = 0x1  # CO_OPTIMIZED: the code of a function, with fast locals
