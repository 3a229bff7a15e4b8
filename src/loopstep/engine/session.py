"""A debugging session: what to run, how to show its code, and how to start it afresh.

The app, the text front end and recordings all take a Session, whichever source makes
the phases (a built-in scenario, ``module:factory``, a user's script, a recording).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .phases import Phase, PhaseEvent
from .protocols import Aligner
from .snapshot import LossPoint
from .stepper import Listener, PhaseSource, Settings, Stepper, StopCondition

#: The code pane's source: the text to show for the phase just run, given the settings in
#: force now (a loop loopstep owns shows its learning rate and whether zero_grad runs).
CodeFor = Callable[[PhaseEvent | None, Settings | None], "CodeView"]


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
    code_for: CodeFor | None = None
    max_iterations: int | None = None
    conditions: Sequence[StopCondition] = ()
    backend: str = ""
    scenario: str = ""
    #: Step back: iterations kept (0: none) and their memory cap; used by loops loopstep owns.
    history: int = 32
    history_mb: float = 512.0
    #: Watch expressions (``--watch``), shown at every pause and in every printed record.
    watches: tuple[str, ...] = ()
    #: Run the diagnostics (:mod:`.diagnostics`) alongside; ``diagnostics_of(stepper)`` finds them.
    diagnose: bool = True
    #: Rank 0 of a torchrun job: brings the other ranks to each pause (:mod:`.lockstep`).
    aligner: Aligner | None = None
    #: Other runs' training loss curves, by name, drawn beside this run's (``replay --compare``).
    compared: tuple[tuple[str, tuple[LossPoint, ...]], ...] = ()
    #: ``make_source`` gives a loop of objects of its own each call (a scenario, a
    #: ``module:factory``), so a what-if branch may run one beside the run (:mod:`.what_if`);
    #: not ``loopstep.debug``, whose every run trains the caller's own model.
    branches: bool = False
    #: What the app calls each rank, where they are not a job's ranks ("numpy", "torch").
    rank_names: tuple[str, ...] = ()
    #: Each rank's code, where the ranks run loops of their own (else ``code_for`` for all).
    rank_code: tuple[CodeFor, ...] = ()
    #: Iterations a second ``c`` plays the run at in the app (None: as fast as it goes).
    pace: float | None = None

    def new_stepper(self, listener: Listener | None = None, **kwargs) -> Stepper:
        """A fresh stepper over a fresh source (restart calls this again)."""
        from .diagnostics import Diagnostics

        kwargs.setdefault("history", self.history)
        kwargs.setdefault("history_mb", self.history_mb)
        if self.diagnose and "observers" not in kwargs:
            kwargs["observers"] = [Diagnostics()]
        stepper = Stepper(
            self.make_source(),
            listener=listener,
            conditions=list(self.conditions),
            max_iterations=self.max_iterations,
            settings=Settings(self.settings.zero_grad, self.settings.lr),
            **kwargs,
        )
        stepper.aligner = self.aligner
        return stepper


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


def static_code(text: str, path: str) -> CodeFor:
    """A code view over fixed text whose phases are marked by comments."""
    lines = phase_lines(text)

    def code_for(event: PhaseEvent | None, settings: Settings | None = None) -> CodeView:
        line = lines.get(event.phase, 0) if event is not None else 0
        return CodeView(text=text, path=path, line=line)

    return code_for


def loop_code(template: str, path: str, default_lr: float | None, **fields: object) -> CodeFor:
    """The code of a loop loopstep owns, written with the values in force.

    ``template`` is str.format text with ``{lr}`` and any ``fields`` (epochs, seed...); the
    line marked ``5. zero_grad`` is shown commented out while zero_grad is switched off, so
    the code on screen is always the loop that runs.
    """
    made: dict[tuple, tuple[str, dict[Phase, int]]] = {}

    def text_for(lr: float | None, zero_grad: bool) -> tuple[str, dict[Phase, int]]:
        key = (lr, zero_grad)
        if key not in made:
            text = template.format(lr=f"{lr if lr is not None else default_lr:g}", **fields)
            if not zero_grad:
                text = "\n".join(
                    switched_off(line) if "5. zero_grad" in line else line for line in text.split("\n")
                )
            made[key] = (text, phase_lines(text))
        return made[key]

    def code_for(event: PhaseEvent | None, settings: Settings | None = None) -> CodeView:
        settings = settings or Settings()
        text, lines = text_for(settings.lr, settings.zero_grad)
        line = lines.get(event.phase, 0) if event is not None else 0
        return CodeView(text=text, path=path, line=line)

    return code_for


def switched_off(line: str) -> str:
    """``    opt.zero_grad()    # 5. zero_grad`` → the same line commented out, saying so, and
    no wider than it must be (the comment keeps its column where the padding allows)."""
    code, mark, comment = line.partition("#")
    indent = code[: len(code) - len(code.lstrip())]
    body = code.strip()
    padding = len(code) - len(indent) - len(body)
    return f"{indent}# {body}{' ' * max(1, padding - 2)}{mark}{comment.rstrip()}: off (z)"
