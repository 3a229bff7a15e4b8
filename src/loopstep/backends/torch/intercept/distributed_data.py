"""The two commonest data mistakes of a DDP script, seen on one rank from its DataLoaders:

- **ddp-same-batches**: training batches come from a plain DataLoader whose sampler is not a
  ``DistributedSampler`` while several ranks train: every rank reads the same batches, so the
  job does the work of one GPU N times over.
- **ddp-sampler-epoch**: a shuffling ``DistributedSampler`` iterated again with the same
  ``epoch``: ``set_epoch`` was not called, so every epoch repeats the first one's order.

Only torch's own DataLoader with its own samplers is judged: frameworks (accelerate,
Lightning) shard in wrappers of theirs, which are left alone rather than guessed at.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

import torch
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    DistributedSampler,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
)

from ....engine.probes import LoaderFinding


def world_size() -> int:
    distributed = torch.distributed
    if distributed.is_available() and distributed.is_initialized():
        return distributed.get_world_size()
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


class LoaderChecks:
    def __init__(self) -> None:
        self.found: list[LoaderFinding] = []
        self._said: set[str] = set()
        #: id(sampler) -> (the sampler, weakly; its epoch at the last pass over its loader)
        self._epochs: dict[int, tuple[Any, int]] = {}
        #: id(iterator) -> (the iterator, weakly; where the pass began) for loaders that shard nothing
        self._unsharded: dict[int, tuple[Any, Any]] = {}

    def iterated(self, loader: Any, iterator: Any, location: Any, iteration: int) -> None:
        """A pass over ``loader`` began at ``location`` (``for batch in loader``)."""
        if type(loader) is not DataLoader or world_size() <= 1:
            return
        sampler = loader.sampler
        if isinstance(sampler, DistributedSampler):
            if not sampler.shuffle:
                return
            known = self._epochs.get(id(sampler))
            if known is not None and known[0]() is sampler and known[1] == sampler.epoch:
                self._say(
                    "ddp-sampler-epoch",
                    f"DistributedSampler iterated again with its epoch still {sampler.epoch}: set_epoch was not "
                    "called, so this pass repeats the last one's order",
                    location,
                    iteration,
                )
            self._epochs[id(sampler)] = (weakref.ref(sampler), sampler.epoch)
        elif (
            isinstance(sampler, (RandomSampler, SequentialSampler))
            and type(loader.batch_sampler) is BatchSampler
            and not isinstance(loader.dataset, IterableDataset)
        ):
            try:
                self._unsharded[id(iterator)] = (weakref.ref(iterator), (location, type(sampler).__name__))
            except TypeError:
                return
            if len(self._unsharded) > 64:
                for key in list(self._unsharded)[:32]:
                    del self._unsharded[key]

    def training_batch(self, iterator: Any, iteration: int) -> None:
        """A training forward took a batch from ``iterator`` (the latest one fetched from)."""
        if iterator is None or not self._unsharded:
            return
        known = self._unsharded.get(id(iterator))
        if known is None or known[0]() is not iterator:
            return
        location, sampler = known[1]
        self._say(
            "ddp-same-batches",
            f"each of the {world_size()} ranks reads the whole dataset from a DataLoader with a "
            f"{sampler}, not a DistributedSampler: the ranks do not share the data out (with one "
            "seed they read the very same batches)",
            location,
            iteration,
        )

    def take(self) -> list[LoaderFinding]:
        found, self.found = self.found, []
        return found

    def _say(self, id: str, message: str, location: Any, iteration: int) -> None:
        if id not in self._said:
            self._said.add(id)
            self.found.append(LoaderFinding(id, message, iteration, location))
