"""A run nobody looks at (a listening run with no front end attached) need not hear of its
phases: as a mixin of :class:`~.stepper.Stepper`, it tells the source when it may stop
reporting them (an intercepted script then takes its hooks off and runs at full speed).
A text stream that prints only the run's end (``--continue``) is such a run too: the source
reports its last phase when it ends (``"last_phase"`` among what it must watch asleep).

The source may go quiet only while the run continues with no stop condition but those it
can watch asleep (``nan``), no iteration limit, zero_grad on, no pause asked for and no end asked for; anything that changes one of
these tells the source again. Each decision is made from the state as it is now, under one
lock, so the last word the source hears is always the right one.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .control import Command

if TYPE_CHECKING:
    from .control import Mode, PhaseSource, Settings, StopCondition

_lock = threading.Lock()


class UnwatchedRun:
    source: PhaseSource
    conditions: list[StopCondition]
    max_iterations: int | None
    settings: Settings
    _mode: Mode
    _pause_requested: threading.Event
    _quit: threading.Event
    _pause_at: int | None
    #: Nobody looks at the run (set by the front end that knows: a listening run).
    unwatched: bool = False
    #: The front end shows the run's last phase (a text stream of the end only): the source
    #: goes quiet only where it can still report that phase exactly.
    end_shown: bool = False

    def set_unwatched(self, unwatched: bool, *, end_shown: bool = False) -> None:
        """A front end attached (False) or none is (True); ``end_shown``: one will show the
        run's last phase."""
        self.unwatched = unwatched
        self.end_shown = end_shown
        self._tell_source()

    def _tell_source(self) -> None:
        with _lock:
            watch = frozenset(c.asleep_watch for c in self.conditions)
            if self.end_shown:
                watch |= {"last_phase"}
            quiet = (
                self.unwatched
                and self._mode.command is Command.CONTINUE
                and None not in watch
                and self.max_iterations is None
                and self.settings.zero_grad
                and not self._pause_requested.is_set()
                and self._pause_at is None
                and not self._quit.is_set()
            )
            self.source.report_phases(not quiet, watch)
