"""Step back in a script's own loop: earlier pauses shown again, as they were.

loopstep cannot re-run a script's loop. It does not own the code between the phases, the
data loader's randomness or the script's side effects (files written, metrics sent), so
there is no checkpoint it could restore and replay from. What it can restore exactly is
what each pause showed: the snapshot. Step back on a script therefore walks back through
the snapshots of the last pauses (every phase of the current iteration while stepping),
read-only; step forward walks towards the live phase and, once there, runs the script
again. A setting changed while looking back (zero_grad, lr) applies to the live run.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from typing import TYPE_CHECKING

from .control import Command
from .snapshot import Snapshot

if TYPE_CHECKING:
    from .stepper import Stepper

#: snapshot.extra key of a view from the past: how many pauses before the live one it is.
LOOKING_BACK = "looking_back"


class LookBack:
    """The snapshots of the last ``pauses`` pauses of a run that cannot be rewound."""

    def __init__(self, pauses: int) -> None:
        self.shown: deque[Snapshot] = deque(maxlen=pauses)
        self.active = False  # True while a view from the past is on screen

    def remember(self, snapshot: Snapshot) -> None:
        if snapshot.event is not None:
            self.shown.append(snapshot)

    def browse(self, stepper: Stepper, steps: int) -> str | tuple[Command, int]:
        """Show earlier pauses until a command leaves the past.

        Returns a reason to pause at the live phase again (nothing earlier to show, or the
        user stepped forward back to it), or the command and count to carry out from the
        live phase (continue, next, ... ).
        """
        if not self.shown:
            return "cannot step back: no earlier pause in this run yet"
        position = 0
        self.active = True
        try:
            while True:
                wanted = position + steps
                position = min(wanted, len(self.shown))
                if position == 0:
                    return "back at the live phase"
                reason = _reason(position, len(self.shown), reached_end=wanted > position)
                view = self.shown[-position]
                command, n = stepper.await_command(
                    replace(view, extra={**view.extra, LOOKING_BACK: position}), reason
                )
                if command is Command.BACK:
                    steps = max(n, 1)
                elif command is Command.STEP:
                    steps = -1
                else:
                    return command, n
        finally:
            self.active = False


def _reason(position: int, held: int, *, reached_end: bool) -> str:
    pauses = f"{position} pause{'s' * (position != 1)}"
    text = f"look back: {pauses} before the live phase, as it was shown (a script cannot be re-run)"
    if reached_end:
        text += f"; the oldest of the {held} pauses kept (--history)"
    return text
