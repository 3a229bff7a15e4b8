"""The stepper's vocabulary: commands, run states, settings, errors, the listener's
callbacks, and where each command pauses (the contracts of sources, stop conditions and
observers are in :mod:`.protocols`).

Kept apart from :mod:`.stepper`, which holds the one class that puts them to work.
"""

from __future__ import annotations

import os
import time
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from .phases import Phase, PhaseEvent
from .protocols import Observer, PhaseSource, StopCondition
from .snapshot import Snapshot

if TYPE_CHECKING:
    pass


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


class InternalError(BaseException):
    """loopstep's own code failed while the training code was paused in it (building a
    snapshot, a stop condition, an observer, a listener).

    A BaseException so that the training code's ``except Exception`` cannot take it for
    one of its own errors; it unwinds the run and is reported as a crash of loopstep.
    """

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause


class ConditionRefused(Exception):
    """A stop condition that proves unusable once the run is going (it names a parameter the
    model does not have): the stepper drops it and pauses saying why (:data:`REFUSED`)."""


#: How the reason of a pause starts when a stop condition was refused (text mode exits 2).
REFUSED = "stop condition refused: "


class TrainingInputError(TypeError):
    """What loopstep was handed to train with is unusable (batches that are not (x, y)):
    the user's to fix, though raised from loopstep's own frame."""


@dataclass(frozen=True)
class TrainingError:
    """An exception that ended a run, kept for post-mortem inspection.

    ``internal`` says the exception is loopstep's own (a bug to report), not the training
    code's: the front ends then exit with EX_SOFTWARE and point at a crash report.
    """

    exception: BaseException
    traceback: str
    #: The phase that was running when it was raised, where the source knows it ("" where
    #: the error came from the training code between two phases).
    phase: str
    last_event: PhaseEvent | None
    internal: bool = False
    #: (epoch, iteration) of the phase that was running, where the source said (a forward
    #: that starts a new batch is in the next iteration, not the last event's).
    at: tuple[int, int] | None = None

    @classmethod
    def of(
        cls,
        exc: BaseException,
        phase: Phase | None,
        last_event: PhaseEvent | None,
        at: tuple[int, int] | None,
    ) -> TrainingError:
        """The error ``exc`` raised while ``phase`` ran (None: between two phases), told
        apart as loopstep's own or the training code's."""
        internal = isinstance(exc, InternalError) or raised_by_loopstep(exc)
        if isinstance(exc, InternalError):
            exc = exc.cause
        name = phase.value if phase is not None else ""
        text = "".join(traceback.format_exception(exc))
        return cls(exc, text, name, last_event, internal=internal, at=at if name else None)

    @property
    def summary(self) -> str:
        return f"{type(self.exception).__name__}: {self.exception}"

    @property
    def where(self) -> str:
        """ "during loss (epoch 0, iteration 3)", or "after backward (...)" when it was raised
        between two phases, or "before the first phase"."""
        event = self.last_event
        if self.phase:
            text = f"during {self.phase}"
        elif event is not None:
            text = f"after {event.phase.value}"
        else:
            return "before the first phase"
        if self.phase and self.at is not None:
            text += f" (epoch {self.at[0]}, iteration {self.at[1]})"
        elif event is not None:
            text += f" (epoch {event.epoch}, iteration {event.iteration})"
        return text


__all__ = ["Observer", "PhaseSource", "StopCondition"]  # re-exported: the stepper's vocabulary


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
    #: STEP n: phases still to run before the pause (key presses that came in a burst).
    steps_left: int = 1


#: loopstep's own package: an exception whose innermost frame is here is loopstep's bug.
_PACKAGE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "")


def raised_by_loopstep(exc: BaseException) -> bool:
    """Whether the innermost frame of ``exc``'s traceback is loopstep's own code (not the
    training code's, nor a library's it called)."""
    tb = exc.__traceback__
    if tb is None or isinstance(exc, TrainingInputError):
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(_PACKAGE_DIR)


def same_phase(a: PhaseEvent, b: PhaseEvent) -> bool:
    return (a.iteration, a.epoch, a.batch, a.phase) == (b.iteration, b.epoch, b.batch, b.phase)


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


def quit_all(reason: str = "quit") -> None:
    """Ask every run in this process to end at its next phase, saying why (a recording's
    end mark keeps the reason: "quit", "signal 1").

    A training thread in continue mode never waits for a command, so without this a
    process whose terminal went away would train on with nobody watching.
    """
    for stepper in list(LIVE):
        stepper.quit(reason)


def wait_all_ended(timeout: float) -> bool:
    """Wait until every run that started in this process has unwound; False on time-out."""

    deadline = time.monotonic() + timeout
    for stepper in list(LIVE):
        if not stepper.wait_ended(max(0.0, deadline - time.monotonic())):
            return False
    return True
