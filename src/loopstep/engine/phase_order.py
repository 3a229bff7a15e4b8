"""The phases of one iteration in the order this run does them, for the phase bar.

It starts as the lesson's order (forward, loss, backward, step, zero_grad) and learns from
the run: a phase the lesson lacks (clip, update, validate) goes in after the phase that came
before it, and once a whole iteration has run, the lesson's phases the run never did are
dropped (a hand-written update has no step) and the order starts where the run's iteration
starts (``zero_grad`` first for a script that clears the gradients at the top of its loop).
"""

from __future__ import annotations

from .phases import TRAINING_PHASES, Phase, PhaseEvent


class PhaseOrder:
    def __init__(self) -> None:
        #: Replaced whole (never changed in place): a reader in another thread needs no lock.
        self.phases: tuple[Phase, ...] = TRAINING_PHASES
        self._seen: set[Phase] = set()
        self._first: Phase | None = None
        self._last: Phase | None = None
        self._settled = False

    def add(self, event: PhaseEvent) -> None:
        phase = event.phase
        if phase not in self.phases:
            order = list(self.phases)
            at = order.index(self._last) + 1 if self._last in order else len(order)
            order.insert(at, phase)
            self.phases = tuple(order)
        if self._first is None:
            self._first = phase
        self._seen.add(phase)
        if not self._settled and event.iteration >= 1:
            self._settle()
        self._last = phase

    def _settle(self) -> None:
        self._settled = True
        order = [p for p in self.phases if p in self._seen]
        if self._first in order:
            at = order.index(self._first)
            order = order[at:] + order[:at]
        self.phases = tuple(order)
