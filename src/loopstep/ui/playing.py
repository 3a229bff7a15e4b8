"""Continue at a pace a learner can follow: with a pace set (``-`` slower, ``+`` faster), ``c``
plays the run one iteration at a time, each one a real pause drawn in every pane (w and b
crawling towards 2 and 1, the gradients, the trace), then the next after 1/pace seconds.
``c`` again stops it where it is; a stop condition or the end stops it too. At the fastest
pace ("as fast as the run goes") ``c`` continues freely, as without a pace: only the status
line and the chart follow the run then.

A mixin of the app: it only sends the NEXT a key would send, so a played run is stepped
exactly as one stepped by hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .view import RunView

#: Why a NEXT pauses at the end of its iteration (engine/control.py): any other reason (a
#: stop condition, a pause asked for) stops the playing there.
PLAYED = "end of iteration"
#: Iterations per second ``-`` and ``+`` go through; None: as fast as the run goes.
PACES: tuple[float | None, ...] = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, None)


class Playing:
    #: Iterations per second ``c`` plays at (None: it continues freely).
    pace: float | None = None
    _playing: bool = False
    _play_timer = None
    _play_generation: int = -1

    if TYPE_CHECKING:  # the app's own

        def _request(self, action: str) -> None: ...

    def _start_playing(self) -> None:
        self._playing = True
        self._play_generation = self.generation
        self.notify(f"playing at {self.pace:g} iterations/s: c pauses, - / + slower / faster", timeout=3)
        self._request("next")

    def _stop_playing(self) -> None:
        self._playing = False
        if self._play_timer is not None:
            self._play_timer.stop()
            self._play_timer = None

    def _played(self, reason: str) -> None:
        """At each pause drawn: the next iteration after 1/pace s, unless this pause is not
        the end of a played iteration (a stop condition, the end, a key pressed meanwhile)."""
        if not self._playing:
            return
        if reason != PLAYED or self._pending or self.view.state is not RunView.PAUSED or self.pace is None:
            self._stop_playing()
            return
        self._play_timer = self.set_timer(1 / self.pace, self._play_next)

    def _play_next(self) -> None:
        self._play_timer = None
        if self._playing and self.generation == self._play_generation and self.view.state is RunView.PAUSED:
            self._request("next")
        else:
            self._stop_playing()

    def action_slower(self) -> None:
        self._set_pace(-1)

    def action_faster(self) -> None:
        self._set_pace(+1)

    def _set_pace(self, step: int) -> None:
        index = min(max(PACES.index(self.pace) + step, 0), len(PACES) - 1)
        self.pace = PACES[index]
        if self.pace is None:
            self.notify("pace: as fast as the run goes (c continues freely)", timeout=3)
            if self._playing:  # go on at full speed from here
                self._stop_playing()
                self._request("continue")
            return
        self.notify(f"pace: {self.pace:g} iterations/s (c plays the run at it)", timeout=3)
