"""What the panes draw: one immutable value the app replaces at each pause.

Each pane reads the part it needs and redraws only when that part changed, so a phase
step repaints a few lines rather than the screen (what matters over SSH).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..engine.lookback import LOOKING_BACK
from ..engine.session import CodeView
from ..engine.snapshot import Snapshot
from ..engine.stepper import TrainingError


class RunView(str, Enum):
    LOADING = "loading"
    PAUSED = "paused"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


@dataclass(frozen=True)
class View:
    title: str
    state: RunView = RunView.LOADING
    snapshot: Snapshot | None = None
    previous: Snapshot | None = None  # the snapshot drawn before this one
    reason: str = ""
    code: CodeView | None = None
    zero_grad: bool = True  # the setting now (it may differ from the snapshot's until the next phase)
    error: TrainingError | None = None
    loading_text: str = ""
    findings: tuple = ()  # the diagnostics' findings so far (engine.diagnostics.Finding)
    watches: tuple = ()  # the watches' values at this pause (engine.watches.WatchValue)
    #: The variables pane's rows at this pause (engine.variables.Variable); None: not read.
    variables: tuple | None = None
    #: A statement typed at the prompt changed the run (until the next restart).
    modified: bool = False
    #: A torchrun job: (the rank whose pause is shown, the world size); None: one process.
    rank: tuple[int, int] | None = None
    #: The ranks' names, where they have names of their own (the session's rank_names).
    rank_names: tuple[str, ...] = ()


class Comparison:
    """Which snapshot the panes compare a new one with, to mark what changed.

    Normally the one drawn before. A view from the past (a script's look back) marks
    nothing; back from it, the live pause compares with what it was compared with before.
    """

    def __init__(self) -> None:
        self._left_live: tuple | None = None  # (live snapshot, its previous) while looking back

    def previous_for(self, view: View, snapshot: Snapshot | None) -> Snapshot | None:
        if snapshot is not None and LOOKING_BACK in snapshot.extra:
            if self._left_live is None:
                self._left_live = (view.snapshot, view.previous)
            return None
        if self._left_live is not None:
            live, live_previous = self._left_live
            self._left_live = None
            same = live is not None and snapshot is not None and live.event == snapshot.event
            return live_previous if same else live
        return view.snapshot if snapshot is not view.snapshot else view.previous
