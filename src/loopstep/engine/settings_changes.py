"""Settings the user changes between phases (zero_grad on or off, the learning rate), as a
mixin of :class:`~.stepper.Stepper`: asked for from any thread, put in force by the training
thread before its next phase, and logged with the phase they came at, so that a replay after
a step back changes them again at the same point (:mod:`.stepping_back`)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .control import Settings

if TYPE_CHECKING:
    from .protocols import Aligner, PhaseSource


class ChangingSettings:
    settings: Settings
    source: PhaseSource
    aligner: Aligner | None
    _lock: threading.Lock
    _pending_settings: Settings | None
    _settings_log: list[tuple[int, Settings]]
    _seq: int
    seq: int  # the training phases reported (see lockstep.py)

    if TYPE_CHECKING:  # the stepper's own

        def _tell_source(self) -> None: ...

    def change_settings(self, *, zero_grad: bool | None = None, lr: float | None = None) -> None:
        """Queue a settings change; the training thread applies it before the next phase."""
        with self._lock:
            base = self._pending_settings or Settings(self.settings.zero_grad, self.settings.lr)
            if zero_grad is not None:
                base.zero_grad = zero_grad
            if lr is not None:
                base.lr = lr
            self._pending_settings = base
            # Reflect at once for readers (the UI shows the new value before the next phase).
            self.settings = Settings(base.zero_grad, base.lr)
        if self.aligner is not None:
            self.aligner.settings(self.seq, zero_grad=zero_grad, lr=lr)  # the pause, as the job counts it
        self._tell_source()

    @property
    def zero_grad_on(self) -> bool:
        return self.settings.zero_grad

    def _apply_pending(self) -> None:
        with self._lock:
            pending, self._pending_settings = self._pending_settings, None
        if pending is not None:
            self.settings = pending
        self.source.apply_settings(self.settings)
        current = Settings(self.settings.zero_grad, self.settings.lr)
        if not self._settings_log or self._settings_log[-1][1] != current:
            self._settings_log.append((self._seq, current))
            del self._settings_log[:-4096]
