"""What the DataLoaders tell the tracker, as a mixin of :class:`~.tracker.PhaseTracker`: each
batch fetched (for batch and epoch counting, and to tell validation's loaders from
training's) and each pass begun over a loader (to name validation passes, and for the DDP
data checks of :mod:`.distributed_data`)."""

from __future__ import annotations

import weakref
from typing import Any

import torch

from .counting import Counter
from .distributed_data import LoaderChecks
from .frames import user_location


class LoaderNotes:
    counter: Counter
    loader_checks: LoaderChecks
    loaders: dict[int, Any]
    _latest_iterator: weakref.ref | None
    _fetched_for_validation: bool

    def note_fetch(self, iterator: Any) -> None:
        validating = not torch.is_grad_enabled()
        self.counter.fetched(iterator, validating)
        try:
            self._latest_iterator = weakref.ref(iterator)
        except TypeError:
            self._latest_iterator = None
        # A validation pass reads from a loader only if it fetched since the last training
        # forward (a no_grad sampling right after training read nothing of its own).
        self._fetched_for_validation = True

    def note_loader(self, loader: Any, iterator: Any) -> None:
        self.loaders[id(iterator)] = loader
        counter = self.counter
        next_batch_iteration = counter.iteration + counter.stepped  # a pass after a step: the next one
        self.loader_checks.iterated(loader, iterator, user_location(3), next_batch_iteration)
        if len(self.loaders) > 64:  # iterators of finished passes: keep a few
            for key in list(self.loaders)[:32]:
                del self.loaders[key]

    def _latest(self) -> Any:
        return self._latest_iterator() if self._latest_iterator is not None else None
