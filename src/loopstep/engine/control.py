"""The stepper's vocabulary: commands, run states, settings, errors, and what a source,
a stop condition, an observer and a listener look like to it.

Kept apart from :mod:`.stepper`, which holds the one class that puts them to work.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from .phases import Phase, PhaseEvent
from .snapshot import Inspector, Snapshot

if TYPE_CHECKING:
    from .stepper import Stepper


class Command(str, Enum):
    STEP = "step"  # pause at the next phase
    NEXT = "next"  # pause at the end of the current iteration
    EPOCH = "epoch"  # pause at the end of the current epoch
    CONTINUE = "continue"  # pause only at a stop condition or the end
    RUN = "run"  # run N iterations (argument: n)
    BACK = "back"  # step back N phases (argument: n, default 1); a script looks back instead
    QUIT = "quit"  # end the run (the training code unwinds, its finally blocks run)


class RunState(str, Enum):
    READY = "ready"
    PAUSED = "paused"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class StopRun(BaseException):
    """Raised inside the training thread to end the run.

    A BaseException so that a user's ``except Exception`` cannot swallow it.
    """


@dataclass
class Settings:
    """Settings the user may change between phases."""

    zero_grad: bool = True
    lr: float | None = None


@dataclass(frozen=True)
class TrainingError:
    """An exception raised by the training code, kept for post-mortem inspection."""

    exception: BaseException
    traceback: str
    phase: str  # the phase that was running (the one after the last reported event)
    last_event: PhaseEvent | None

    @property
    def summary(self) -> str:
        return f"{type(self.exception).__name__}: {self.exception}"


class PhaseSource(Protocol):
    """Something that runs training and reports its phases to a stepper."""

    name: str
    inspector: Inspector

    def run(self, stepper: Stepper) -> None: ...

    def apply_settings(self, settings: Settings) -> None: ...


class StopCondition(Protocol):
    """A breakpoint: returns a reason to pause, or None."""

    def check(self, event: PhaseEvent, stepper: Stepper) -> str | None: ...


class Observer(Protocol):
    """Sees every phase, paused at or not (diagnostics); never pauses the run.

    May also have ``rewound(iteration, stepper)``: step back went back to that iteration's start.
    """

    def observe(self, event: PhaseEvent, stepper: Stepper) -> None: ...


@dataclass
class Listener:
    """Plain callbacks; each is optional. They run in the training thread."""

    on_pause: Callable[[Snapshot, str], None] | None = None
    on_event: Callable[[PhaseEvent], None] | None = None
    on_finish: Callable[[Snapshot | None], None] | None = None
    on_error: Callable[[TrainingError, Snapshot | None], None] | None = None


# Where each command pauses, given the event that arrived and the pause it was issued at.
def iteration_in_focus(start: PhaseEvent | None) -> int:
    """The iteration a NEXT issued at ``start`` runs to the end of."""
    if start is None:
        return 0
    if start.ends_iteration or start.phase is Phase.VALIDATE:
        return start.iteration + 1
    return start.iteration


def next_target(event: PhaseEvent, start: PhaseEvent | None) -> bool:
    if event.phase is Phase.VALIDATE:
        return True
    focus = iteration_in_focus(start)
    # A script that never calls zero_grad has no end marker: stop at the next iteration's first phase.
    return (event.ends_iteration and event.iteration >= focus) or event.iteration > focus


def epoch_target(event: PhaseEvent, start: PhaseEvent | None) -> bool:
    if event.phase is Phase.VALIDATE or event.ends_epoch:
        return True
    return start is not None and event.epoch > start.epoch and start.phase is not Phase.VALIDATE


@dataclass
class Mode:
    command: Command = Command.STEP
    start: PhaseEvent | None = None
    until_iteration: int | None = None


def same_phase(a: PhaseEvent, b: PhaseEvent) -> bool:
    return (a.iteration, a.epoch, a.batch, a.phase) == (b.iteration, b.epoch, b.batch, b.phase)


def phase_after(event: PhaseEvent | None) -> str:
    order = [Phase.FORWARD, Phase.LOSS, Phase.BACKWARD, Phase.STEP, Phase.ZERO_GRAD]
    if event is None or event.phase is Phase.VALIDATE:
        return "forward"
    if event.phase is Phase.ZERO_GRAD:
        return "forward"
    return order[order.index(event.phase) + 1].value


def command_target_reached(event: PhaseEvent, mode: Mode) -> str | None:
    """Why ``event`` ends the command in force (next, epoch, run N), or None."""
    command = mode.command
    if command is Command.NEXT and next_target(event, mode.start):
        return "end of iteration"
    if command is Command.EPOCH and epoch_target(event, mode.start):
        return "end of epoch"
    if command is Command.RUN and mode.until_iteration is not None:
        if event.iteration >= mode.until_iteration - 1 and event.ends_iteration:
            return "iterations done"
        if event.iteration >= mode.until_iteration:
            return "iterations done"
    return None


#: Every stepper not yet collected, so a hangup can end all runs (see :func:`quit_all`).
LIVE: weakref.WeakSet = weakref.WeakSet()


def quit_all() -> None:
    """Ask every run in this process to end at its next phase.

    A training thread in continue mode never waits for a command, so without this a
    process whose terminal went away would train on with nobody watching.
    """
    for stepper in list(LIVE):
        stepper.send(Command.QUIT)
