"""Loss history of a run: appended by the training thread, read by anyone.

Appends are single list operations, so a reader in another thread (the UI's refresh
timer) sees a consistent prefix without a lock.
"""

from __future__ import annotations

from .snapshot import LossPoint


class LossHistory:
    def __init__(self) -> None:
        self.train: list[LossPoint] = []
        self.val: list[LossPoint] = []
        #: The training curve as it was before the first step back (kept for what-if, until restart).
        self.original: list[LossPoint] | None = None

    def add_train(self, iteration: int, epoch: int, loss: float) -> None:
        self.train.append(LossPoint(iteration, epoch, loss))

    def add_val(self, iteration: int, epoch: int, loss: float) -> None:
        self.val.append(LossPoint(iteration, epoch, loss))

    def frozen(self) -> tuple[tuple[LossPoint, ...], tuple[LossPoint, ...]]:
        return tuple(self.train), tuple(self.val)

    def keep_original(self) -> None:
        if self.original is None:
            self.original = list(self.train)

    def truncate(self, iteration: int) -> None:
        """Forget losses from ``iteration`` on (after a rewind)."""
        self.train = [p for p in self.train if p.iteration < iteration]
        self.val = [p for p in self.val if p.iteration < iteration]
