"""Messages from the training thread to the app.

The engine's listener callbacks run in the training thread; they only post these. The
``generation`` says which run sent them, so a message from a run that was just restarted
is dropped instead of drawn.
"""

from __future__ import annotations

from textual.message import Message

from ..engine.snapshot import Snapshot
from ..engine.stepper import Stepper, TrainingError


class RunMessage(Message):
    def __init__(self, generation: int) -> None:
        super().__init__()
        self.generation = generation


class StepperReady(RunMessage):
    def __init__(self, generation: int, stepper: Stepper) -> None:
        super().__init__(generation)
        self.stepper = stepper


class Paused(RunMessage):
    def __init__(
        self,
        generation: int,
        snapshot: Snapshot,
        reason: str,
        watches: tuple = (),
        variables: tuple | None = None,
        others: dict | None = None,
    ) -> None:
        """``watches`` and ``variables``: what the training thread read at this pause for the
        watch and variables panes, before it posted the pause (no second round trip);
        ``others``: a torchrun job's other ranks at this pause (rank -> RankPause)."""
        super().__init__(generation)
        self.snapshot = snapshot
        self.reason = reason
        self.watches = watches
        self.variables = variables
        self.others = others or {}


class InspectionRead(RunMessage):
    """Watches, variables (and, after a statement changed the run, a fresh snapshot) read at
    the pause the run is still in."""

    def __init__(
        self, generation: int, watches: tuple, variables: tuple | None, snapshot: Snapshot | None = None
    ) -> None:
        super().__init__(generation)
        self.watches = watches
        self.variables = variables
        self.snapshot = snapshot


class Finished(RunMessage):
    def __init__(self, generation: int, snapshot: Snapshot | None) -> None:
        super().__init__(generation)
        self.snapshot = snapshot


class Failed(RunMessage):
    def __init__(self, generation: int, error: TrainingError, snapshot: Snapshot | None) -> None:
        super().__init__(generation)
        self.error = error
        self.snapshot = snapshot


class BranchReady(RunMessage):
    """A what-if branch has run (``branch``), or could not (``error``, said to the user)."""

    def __init__(self, generation: int, branch=None, error: str = "") -> None:
        super().__init__(generation)
        self.branch = branch
        self.error = error
