"""What if: the run as it would have gone had a setting not been changed just now.

Switching zero_grad off mid-run is the lesson's point (gradients pile up, training blows
apart), but a curve that goes up says little without the curve it would have drawn. So,
on a loop loopstep owns, a change made at a pause forks a branch: a fresh copy of the loop
(``Session.make_source``) starts from the checkpoint of the iteration in progress, keeps the
settings the run had, and runs on in continue mode; its training curve is drawn beside
the run's from that point on. Replay is exact for the same reason step back is: the
checkpoint holds the parameters, the optimizer's state, ``.grad``, the random state and
the batch.

The branch runs in the training thread while the run is paused (a question of the pause,
see :mod:`.questions`): the training code's objects and the process-wide random state
are that thread's. The random state the run had is put back afterwards, so the run goes
on exactly as it would have without the branch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .control import Command, Settings
from .rewind import Checkpoint
from .snapshot import LossPoint

if TYPE_CHECKING:
    from .protocols import PhaseSource
    from .stepper import Stepper

#: The most iterations a branch runs past its fork (a loop with no end in sight stops there).
MAX_BRANCH_ITERATIONS = 2000


@runtime_checkable
class Branchable(Protocol):
    """A source that can start from a checkpoint (a loop loopstep owns) and whose random
    state is the process's (torch's generator), to be put back after a branch."""

    start: Checkpoint | None

    def random_state(self) -> object: ...

    def set_random_state(self, state: object) -> None: ...


@dataclass(frozen=True)
class Branch:
    """The curve of the road not taken: ``label`` names the settings it kept."""

    label: str
    since: int  # the iteration it forked at
    curve: tuple[LossPoint, ...]


class NoBranch(Exception):
    """Why no branch can be drawn here (said to the user)."""


def settings_label(kept: Settings, now: Settings) -> str:
    """How the branch differs from the run: "zero_grad on", "lr 0.05"."""
    parts = []
    if kept.zero_grad != now.zero_grad:
        parts.append(f"zero_grad {'on' if kept.zero_grad else 'off'}")
    if kept.lr is not None and kept.lr != now.lr:
        parts.append(f"lr {kept.lr:g}")
    return ", ".join(parts) or "unchanged"


def fork_point(stepper: Stepper, kept: Settings) -> Checkpoint | None:
    """The checkpoint the branch starts from (None: the run's first batch), or NoBranch."""
    if not isinstance(stepper.source, Branchable):
        raise NoBranch("only a loop loopstep owns can run what-if branches")
    event = stepper.last_event
    if event is None:
        return None  # at the start: the whole run, with the settings kept
    if stepper.checkpoints is None:
        raise NoBranch("no what-if branch: this run keeps no history (--history 0)")
    checkpoint = stepper.checkpoints.at_or_before(event.iteration)
    if checkpoint is None:
        raise NoBranch(f"no what-if branch: no checkpoint reaches iteration {event.iteration}")
    lr_changed = None not in (checkpoint.lr, kept.lr) and checkpoint.lr != kept.lr
    if checkpoint.zero_grad != kept.zero_grad or lr_changed:
        raise NoBranch("no what-if branch: the settings changed since the last checkpoint")
    return checkpoint


def run_branch(
    stepper: Stepper, make_source: Callable[[], PhaseSource], kept: Settings, label: str
) -> Branch:
    """Run the branch to the end (or MAX_BRANCH_ITERATIONS past the fork); call in the
    training thread at a pause (``stepper.ask``)."""
    from .stepper import Stepper as BranchStepper

    start = fork_point(stepper, kept)
    main: Branchable = stepper.source  # type: ignore[assignment]
    saved = main.random_state()
    since = start.iteration if start is not None else 0
    limit = since + MAX_BRANCH_ITERATIONS
    if stepper.max_iterations is not None:
        limit = min(limit, stepper.max_iterations)
    try:
        source = make_source()
        if not isinstance(source, Branchable):
            raise NoBranch("only a loop loopstep owns can run what-if branches")
        source.start = start
        branch = BranchStepper(
            source,
            controller=lambda snapshot, reason: Command.CONTINUE,
            settings=Settings(kept.zero_grad, kept.lr),
            max_iterations=limit,
        )
        branch.run()
    finally:
        main.set_random_state(saved)
    return Branch(label, since, tuple(branch.history.train))
