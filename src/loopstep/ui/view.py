"""What the panes draw: one immutable value the app replaces at each pause.

Each pane reads the part it needs and redraws only when that part changed, so a phase
step repaints a few lines rather than the screen (what matters over SSH).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

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
