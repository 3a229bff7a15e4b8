"""Key presses that wait for the run to pause, in the order they were made.

A user types faster than a phase may take (50 presses of ``s`` in a burst, or ``c`` while
the run is still loading). None of them is dropped: each waits here until the run pauses,
and the app then carries out the next one. Only what the user cannot tell apart is
merged: ``s`` pressed k times in a row is one step of k phases (the stepper pauses after
the k-th), and so is ``u`` k times.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

#: Actions whose repeats merge into one request with a count.
COUNTED = frozenset({"step", "step_back"})


@dataclass
class Request:
    action: str  # "step", "next", "epoch", "continue", "step_back", "toggle_zero_grad"
    count: int = 1


class PendingKeys:
    def __init__(self) -> None:
        self._items: deque[Request] = deque()

    def add(self, action: str) -> None:
        last = self._items[-1] if self._items else None
        if last is not None and last.action == action and action in COUNTED:
            last.count += 1
        else:
            self._items.append(Request(action))

    def pop(self) -> Request | None:
        return self._items.popleft() if self._items else None

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def presses(self) -> int:
        """Key presses waiting (a merged step of k counts k)."""
        return sum(r.count for r in self._items)
