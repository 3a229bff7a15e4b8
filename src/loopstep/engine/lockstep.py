"""Several ranks of one job paused at the same phase, as a mixin of
:class:`~.stepper.Stepper`.

A data-parallel job's ranks run the same loop, so they report the same phases in the same
order: the number of training phases a rank has reported (its *seq*; validate phases are
not counted, since rank 0 often evaluates alone) says where it is. Rank 0's
stepper has an :class:`~.protocols.Aligner` (the front end's link to the other ranks): at
each pause it is asked to bring the others to the same seq first. A rank that is behind
runs on to it. None is ahead while rank 0 runs: another rank's :class:`~.protocols.Gate`
lets it leave a phase only once rank 0 has, so a pause never finds it inside a later
collective (only a gate that gave up on a rank 0 gone another way lets one on; it is left
where it is and joins when rank 0 gets there). Each command that ends the pause goes to the
others too, so they step as rank 0 steps.

The other ranks' steppers need :meth:`pause_at_seq` (pause at the first phase whose seq is
at least the one asked for) and their gate.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .control import REFUSED, StopRun
from .phases import Phase
from .remote_protocol import STEPPING_REASONS

if TYPE_CHECKING:
    from .phases import PhaseEvent
    from .protocols import Aligner, Gate
    from .snapshot import Snapshot
    from .watches import WatchValue

#: How often a rank held at a phase looks whether rank 0 went past it, once it has only
#: yielded the CPU between looks for GATE_SPIN_S (rank 0 is most often that close).
GATE_POLL_S = 0.0005
GATE_SPIN_S = 0.005
#: What rank 0's run has gone past once it is over: every phase of every rank.
PAST_EVERYTHING = 1 << 62

#: The reason a rank paused because another rank asked it to.
LOCKSTEP = "lockstep"
#: Rank 0's reason, until the rank that stopped says its own (see ``_bring_ranks``).
OTHER_RANK_STOPPED = "another rank stopped"


@dataclass(frozen=True)
class RankPause:
    """Another rank at rank 0's pause, as it is there: its snapshot and its watches' values
    (the same expressions as rank 0's, evaluated in its own training frame)."""

    snapshot: Snapshot
    watches: tuple[WatchValue, ...] = ()


class Lockstepping:
    #: Phases reported but validate ones (see the module's docstring).
    _trained: int = 0
    _at_boundary: bool = False
    _pause_requested: threading.Event
    #: Rank 0 of a job: brings the other ranks to each pause (None: a single process).
    aligner: Aligner | None = None
    #: Another rank of a job: holds it at each phase until rank 0 went past it.
    gate: Gate | None = None
    _pause_at: int | None = None
    _quit: threading.Event
    conditions: list
    #: The seq rank 0 last paused at with the others (so one rank's stop pauses it once).
    _aligned_at: int = -1
    #: The seq another rank last said it arrived at.
    _arrived: int = -1

    if TYPE_CHECKING:  # the stepper's own

        def _tell_source(self) -> None: ...

        def _pause(self, event: PhaseEvent | None, reason: str, *, finished: bool = False) -> None: ...

    def _bring_ranks(self, event: PhaseEvent | None, reason: str, *, finished: bool) -> tuple[bool, str]:
        """Before a pause: rank 0 brings the others to it (True: they pause with it), or
        holds them where they are at a validate phase (rank 0 may evaluate alone); the
        reason to show (rank 0 stopped for another rank: that rank's own). Another rank
        says it stopped here, before it waits, if a condition of its own stopped it."""
        aligner = self.aligner
        if aligner is None:
            if self.gate is not None:
                self._arrive(stopped=reason not in STEPPING_REASONS and not reason.startswith(REFUSED))
            return False, reason
        if event is not None and event.phase is Phase.VALIDATE:
            aligner.hold(self._trained)
            return False, reason
        self._aligned_at = self._trained
        if not finished:
            theirs = aligner.align(self._trained)
            if reason == OTHER_RANK_STOPPED and theirs:
                reason = theirs
        return True, reason

    def _arrive(self, *, stopped: bool) -> None:
        """Another rank: say it is at this phase (and whether a condition of its own stopped
        it here), once a phase."""
        if self.gate is not None and self._arrived != self._trained:
            self._arrived = self._trained
            self.gate.arrive(self._trained, stopped, bool(self.conditions))

    def _ranks_resume(self, command: str, n: int, *, in_step: bool) -> None:
        """A pause ends with ``command``. This pause meets every pause asked for at its seq
        or before (rank 0 asks before it sends the command that ended the pause, so none
        is still on its way); then the ranks in step go on with rank 0."""
        target = self._pause_at
        if target is not None and target <= self._trained:
            self._pause_at = None
        if in_step and self.aligner is not None:
            self.aligner.resumed(command, n)

    def _reach_boundary(self, event: PhaseEvent) -> None:
        """A phase was reported: the rank is at it until :meth:`_leave_boundary` (said
        before the seq moves, so a reader that sees the new seq sees it held there)."""
        self._at_boundary = True
        if event.phase is not Phase.VALIDATE:
            self._trained += 1  # rank 0 may evaluate alone: see the module's docstring

    def _leave_boundary(self, event: PhaseEvent | None) -> None:
        """The run goes on past this phase: rank 0 says so; another rank waits for rank 0 to
        have gone past it first, pausing there if rank 0 asks it to meanwhile."""
        try:
            self._hold_at_boundary(event)
        finally:
            self._at_boundary = False

    def _hold_at_boundary(self, event: PhaseEvent | None) -> None:
        aligner = self.aligner
        if aligner is not None:
            # Rank 0 leaves a phase only once every rank is at it: one that stopped there for a
            # condition of its own (its data) stops the job there, none left in a collective.
            stopped = aligner.arrived(self._trained) if self._trained > 0 else False
            if stopped and self._aligned_at != self._trained:
                self._pause(event, OTHER_RANK_STOPPED)
            aligner.passed(self._trained)
        gate = self.gate
        if gate is None:
            return
        self._arrive(stopped=False)
        begun = time.monotonic()
        while not gate.may_pass(self._trained):
            if self._quit.is_set():
                raise StopRun
            reason = self._lockstep_reason()
            if reason is not None:
                self._pause(event, reason)
                continue
            # Rank 0 is most often less than a phase behind: yield (its phase runs meanwhile)
            # for as long as a phase takes, and only then sleep between looks.
            time.sleep(0 if time.monotonic() - begun < GATE_SPIN_S else GATE_POLL_S)

    @property
    def seq(self) -> int:
        """Training phases reported so far (validate phases not counted)."""
        return self._trained

    @property
    def at_boundary(self) -> bool:
        """Whether the run is at the phase :attr:`seq` (paused there, held by its gate, or
        about to pause), not already inside the next one: read after :attr:`seq`."""
        return self._at_boundary

    def pause_at_seq(self, seq: int) -> None:
        """Pause at the first phase whose seq is ``seq`` or more (any thread)."""
        self._pause_at = seq
        self._tell_source()  # a sleeping source wakes to report the phase

    def cancel_pause_at(self) -> None:
        self._pause_at = None
        self._tell_source()

    def _lockstep_reason(self) -> str | None:
        """LOCKSTEP once the phase rank 0 asked for is reached (it stands for a pause asked
        for here too)."""
        target = self._pause_at
        if target is not None and self._trained >= target:
            self._pause_at = None
            self._pause_requested.clear()
            return LOCKSTEP
        return None

    def _judge_ranks(self, snapshot: Snapshot) -> None:
        """Rank 0 at a step with the others in step: do they agree? (The app's diagnostics
        say so when not; ``loopstep check`` compares every step.)"""
        if self.aligner is None:
            return
        from .diagnostics import diagnostics_of
        from .rank_checks import ranks_disagree

        diagnostics = diagnostics_of(self)
        others = self.aligner.ranks_at_pause()
        if diagnostics is None or not others or snapshot.event is None:
            return
        found = ranks_disagree(snapshot, {rank: other.snapshot for rank, other in others.items()})
        if found is not None:
            diagnostics.add(found[0], snapshot.event, found[1])

    def _leave_job(self) -> None:
        """The run is over: no rank is held at a phase for this one any more."""
        if self.aligner is not None:
            self.aligner.passed(PAST_EVERYTHING)
        if self.gate is not None:
            self.gate.arrive(PAST_EVERYTHING, False, False)
