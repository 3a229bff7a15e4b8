"""Step back: checkpoints at each iteration start, and the signal that replays from one.

A loop loopstep owns saves, before each iteration, everything replay needs: the
backend's state (parameters, buffers, optimizer state, ``.grad``, RNG states), the batch,
and the settings in force. To step back the stepper raises :class:`Rewind` in the
training thread; the loop catches it, restores the checkpoint and runs forward again
while the stepper replays silently up to the phase the user asked for. Replay is
deterministic because every input to it was saved; a what-if is the same replay with a
setting changed afterwards.

The window keeps the last K iterations but never more than a memory cap: when the cap
binds, :attr:`CheckpointWindow.notice` says how far back the user can go.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

MB = 1024 * 1024


def nbytes(value: Any) -> int:
    """Bytes held by the arrays/tensors inside nested dicts, lists and tuples."""
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(nbytes(v) for v in value)
    size = getattr(value, "nbytes", None)
    return size if isinstance(size, int) else 0


@dataclass
class Checkpoint:
    iteration: int
    epoch: int
    batch: int
    state: dict
    x: Any
    y: Any
    zero_grad: bool
    lr: float | None
    grad_passes: int
    size: int = 0

    def __post_init__(self) -> None:
        self.size = nbytes(self.state) + nbytes(self.x) + nbytes(self.y)


class CheckpointWindow:
    def __init__(self, iterations: int = 32, max_mb: float = 512.0) -> None:
        self.iterations = iterations
        self.max_bytes = int(max_mb * MB)
        self._items: deque[Checkpoint] = deque()
        self.total = 0
        #: Set when the memory cap, not K, decides how far back one can go.
        self.notice: str | None = None

    def add(self, checkpoint: Checkpoint) -> None:
        self.drop_from(checkpoint.iteration)
        self._items.append(checkpoint)
        self.total += checkpoint.size
        while len(self._items) > self.iterations:
            self.total -= self._items.popleft().size
        while len(self._items) > 1 and self.total > self.max_bytes:
            self.total -= self._items.popleft().size
            self._limited(checkpoint)

    def _limited(self, checkpoint: Checkpoint) -> None:
        kept = len(self._items)
        if kept < self.iterations and self.notice is None:
            self.notice = (
                f"step back reaches {kept} iterations, not {self.iterations}: each checkpoint takes "
                f"{checkpoint.size / MB:.1f} MB and the cap is {self.max_bytes / MB:.0f} MB (--history-mb)"
            )

    def drop_from(self, iteration: int) -> None:
        """Forget checkpoints of ``iteration`` and later (they will be taken again on replay)."""
        while self._items and self._items[-1].iteration >= iteration:
            self.total -= self._items.pop().size

    def find(self, iteration: int) -> Checkpoint | None:
        for checkpoint in self._items:
            if checkpoint.iteration == iteration:
                return checkpoint
        return None

    @property
    def span(self) -> tuple[int, int] | None:
        """First and last iteration that can be rewound to."""
        if not self._items:
            return None
        return self._items[0].iteration, self._items[-1].iteration

    def __len__(self) -> int:
        return len(self._items)


class Rewind(BaseException):
    """Raised in the training thread: restore ``checkpoint`` and run forward from it.

    A BaseException so that a user's ``except Exception`` cannot swallow it.
    """

    def __init__(self, checkpoint: Checkpoint) -> None:
        super().__init__(checkpoint.iteration)
        self.checkpoint = checkpoint
