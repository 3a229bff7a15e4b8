"""Step back, the stepper's half that goes back: checkpoints taken as iterations start, and
a rewind to one of them that replays the run to the phase asked for (for sources that can
restore their state: the loops loopstep owns)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .control import Command, Mode, RunState, Settings
from .phases import PhaseEvent
from .rewind import Checkpoint, Rewind


class SteppingBack:
    """Mixed into :class:`~.stepper.Stepper`; its state lives there."""

    def step_back(self, phases: int = 1) -> None:
        """At a pause: go back ``phases`` phases (restore a checkpoint and replay)."""
        self.send(Command.BACK, phases)

    @property
    def rewind_notice(self) -> str | None:
        """Set when the memory cap keeps step back to fewer iterations than asked for."""
        return self.checkpoints.notice if self.checkpoints is not None else None

    def checkpoint(
        self, iteration: int, epoch: int, batch: int, state_of: Callable[[], dict], x: Any, y: Any
    ) -> None:
        """Called by a rewindable source at each iteration start, before the batch runs."""
        window = self.checkpoints
        if window is None or not window.wants(iteration, dense=self.wants_detail):
            return
        settings = self.settings
        window.add(
            Checkpoint(
                iteration, epoch, batch, state_of(), x, y,
                settings.zero_grad, settings.lr, self.grad_passes, seq=self._seq, trained=self._trained,
            )
        )  # fmt: skip

    def _replay_settings(self) -> None:
        """During a replay: put back a settings change the user made at this point."""
        for seq, settings in self._settings_log:
            if seq == self._seq:
                self.settings = Settings(settings.zero_grad, settings.lr)
                self.source.apply_settings(self.settings)

    def _rewind(self, event: PhaseEvent | None, phases: int) -> str:
        """Raise :class:`Rewind` towards the phase ``phases`` back, or say why not."""
        if self.checkpoints is None:
            return "cannot step back: this run keeps no history (--history 0)"
        index = len(self._events) - 1 - phases
        if event is None or index < 0:
            return "cannot step back: no earlier phase"
        target = self._events[index]
        checkpoint = self.checkpoints.at_or_before(target.iteration)
        if checkpoint is None:
            span = self.checkpoints.span
            held = f"iterations {span[0]}–{span[1]}" if span else "no iterations"
            return f"cannot step back to iteration {target.iteration}: history holds {held}"
        self.history.keep_original()
        self.history.truncate(checkpoint.iteration)
        self._events = [e for e in self._events if e.iteration < checkpoint.iteration]
        self.grad_passes = checkpoint.grad_passes
        self._seq = checkpoint.seq
        self._trained = checkpoint.trained  # a replay of a job: the other ranks go back too
        with self._lock:
            self._pending_settings = None
            self.settings = Settings(checkpoint.zero_grad, checkpoint.lr)
        self.source.apply_settings(self.settings)
        self.checkpoints.drop_from(checkpoint.iteration)
        for observer in self.observers:
            observer.rewound(checkpoint.iteration, self)
        self._replay_to = target
        self._mode = Mode(Command.STEP)
        self.state = RunState.RUNNING
        raise Rewind(checkpoint)
