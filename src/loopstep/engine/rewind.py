"""Step back: checkpoints at each iteration start, and the signal that replays from one.

A loop loopstep owns saves, before each iteration, everything replay needs: the
backend's state (parameters, buffers, optimizer state, ``.grad``, RNG states), the batch,
and the settings in force. To step back the stepper raises :class:`Rewind` in the
training thread; the loop catches it, restores the checkpoint and runs forward again
while the stepper replays silently up to the phase the user asked for. Replay is
deterministic because every input to it was saved; a what-if is the same replay with a
setting changed afterwards.

The window reaches back K iterations but never holds more than a memory cap: when the
cap binds, :attr:`CheckpointWindow.notice` says how far back the user can go. Settings
the user changed at pauses are logged by the stepper and applied again at the same
point of a replay, so a replay across several iterations stays faithful.
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
    seq: int = 0  # events reported before this iteration began
    trained: int = 0  # training phases reported before it (a job's seq, see lockstep.py)
    size: int = 0

    def __post_init__(self) -> None:
        self.size = nbytes(self.state) + nbytes(self.x) + nbytes(self.y)


class CheckpointWindow:
    """Checkpoints that let step back reach the last K iterations.

    While the user steps, every iteration is checkpointed; in continue mode only every
    ``every``-th one, and a rewind replays the iterations in between (they are
    deterministic). The oldest checkpoint is kept as long as it is needed to reach K
    iterations back, and dropped earlier only when the memory cap binds.
    """

    def __init__(self, iterations: int = 32, max_mb: float = 512.0, every: int = 8) -> None:
        self.iterations = iterations
        self.max_bytes = int(max_mb * MB)
        self.every = max(1, every)
        self._items: deque[Checkpoint] = deque()
        self.total = 0
        self.current = 0  # the iteration running now
        self._limited = False

    def wants(self, iteration: int, dense: bool) -> bool:
        """Whether to checkpoint the iteration starting now (always while stepping)."""
        self.current = iteration
        if not self._items:
            return True
        gap = iteration - self._items[-1].iteration
        return gap > 0 and (dense or gap >= self.every)

    def add(self, checkpoint: Checkpoint) -> None:
        self.drop_from(checkpoint.iteration)
        self._items.append(checkpoint)
        self.total += checkpoint.size
        self.current = max(self.current, checkpoint.iteration)
        # Keep one checkpoint at or before the oldest iteration the user may go back to.
        while len(self._items) > 1 and self._items[1].iteration <= self.current - self.iterations:
            self.total -= self._items.popleft().size
        while len(self._items) > 1 and self.total > self.max_bytes:
            self.total -= self._items.popleft().size
            self._limited = True

    @property
    def reach(self) -> int:
        """How many iterations back the oldest checkpoint lets one go."""
        return self.current - self._items[0].iteration if self._items else 0

    @property
    def notice(self) -> str | None:
        """Set when the memory cap, not K, decides how far back one can go."""
        if not self._limited or not self._items or self.reach >= self.iterations:
            return None
        size = self._items[-1].size / MB
        return (
            f"step back reaches {self.reach} iterations, not {self.iterations}: each checkpoint takes "
            f"{size:.1f} MB and the cap is {self.max_bytes / MB:.0f} MB (--history-mb)"
        )

    def drop_from(self, iteration: int) -> None:
        """Forget checkpoints of ``iteration`` and later (they will be taken again on replay)."""
        while self._items and self._items[-1].iteration >= iteration:
            self.total -= self._items.pop().size

    def at_or_before(self, iteration: int) -> Checkpoint | None:
        """The latest checkpoint a replay to ``iteration`` can start from."""
        found = None
        for checkpoint in self._items:
            if checkpoint.iteration <= iteration:
                found = checkpoint
        return found

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
        return self._items[0].iteration, self.current

    def __len__(self) -> int:
        return len(self._items)


class Rewind(BaseException):
    """Raised in the training thread: restore ``checkpoint`` and run forward from it.

    A BaseException so that a user's ``except Exception`` cannot swallow it.
    """

    def __init__(self, checkpoint: Checkpoint) -> None:
        super().__init__(checkpoint.iteration)
        self.checkpoint = checkpoint
