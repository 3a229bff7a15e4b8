"""A debugging session: what to run, how to show its code, and how to start it afresh.

The app, the text front end and recordings all take a Session, whichever source makes
the phases (a built-in scenario, ``module:factory``, a user's script, a recording).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .phases import Phase, PhaseEvent
from .stepper import Listener, PhaseSource, Settings, Stepper, StopCondition


@dataclass(frozen=True)
class CodeView:
    """Source text for the code pane and the line to highlight (1-based, 0 for none)."""

    text: str
    path: str
    line: int = 0
    first_line: int = 1  # number of the first line of ``text`` in its file


@dataclass
class Session:
    title: str
    make_source: Callable[[], PhaseSource]
    settings: Settings = field(default_factory=Settings)
    code_for: Callable[[PhaseEvent | None], CodeView] | None = None
    max_iterations: int | None = None
    conditions: Sequence[StopCondition] = ()
    backend: str = ""
    scenario: str = ""
    #: Step back: iterations kept (0: none) and their memory cap; used by loops loopstep owns.
    history: int = 32
    history_mb: float = 512.0
    #: Run the diagnostics (:mod:`.diagnostics`) alongside; ``diagnostics_of(stepper)`` finds them.
    diagnose: bool = True

    def new_stepper(self, listener: Listener | None = None, **kwargs) -> Stepper:
        """A fresh stepper over a fresh source (restart calls this again)."""
        from .diagnostics import Diagnostics

        kwargs.setdefault("history", self.history)
        kwargs.setdefault("history_mb", self.history_mb)
        if self.diagnose and "observers" not in kwargs:
            kwargs["observers"] = [Diagnostics()]
        return Stepper(
            self.make_source(),
            listener=listener,
            conditions=list(self.conditions),
            max_iterations=self.max_iterations,
            settings=Settings(self.settings.zero_grad, self.settings.lr),
            **kwargs,
        )


def phase_lines(text: str) -> dict[Phase, int]:
    """Find the line of each phase in a loop written with ``# 1. forward`` style comments."""
    marks = {
        Phase.FORWARD: "1. forward",
        Phase.LOSS: "2. loss",
        Phase.BACKWARD: "3. backward",
        Phase.STEP: "4. step",
        Phase.ZERO_GRAD: "5. zero_grad",
        Phase.VALIDATE: "val_loss",
    }
    found: dict[Phase, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        for phase, mark in marks.items():
            if phase not in found and mark in line:
                found[phase] = number
    return found


def static_code(text: str, path: str) -> Callable[[PhaseEvent | None], CodeView]:
    """A code view over fixed text whose phases are marked by comments."""
    lines = phase_lines(text)

    def code_for(event: PhaseEvent | None) -> CodeView:
        line = lines.get(event.phase, 0) if event is not None else 0
        return CodeView(text=text, path=path, line=line)

    return code_for
