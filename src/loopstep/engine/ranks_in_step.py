"""Other ranks stepped in this process, each by a stepper of its own in a thread, brought to
rank 0's phase at each pause (the same seq: the training phases reported, as live, see
:mod:`.lockstep`): the replay of a torchrun job's recordings (:mod:`.recording.ranks`), and
the NumPy and PyTorch loops of a scenario side by side (``loopstep demo linreg --compare``).

:class:`SteppedRanks` is their :class:`~.protocols.Aligner`, so the app's per-rank view
(``R``), the chart of every rank's loss, the watches, the prompt and the text stream's rank
column work on them as on a live job. A step back on rank 0 runs the other ranks again from
their start to its phase; a setting changed at a pause (``z``) is changed on every rank.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING

from .control import Command, Listener
from .expressions import FrameQuestion, answer_in_frame
from .lockstep import PAST_EVERYTHING, RankPause
from .snapshot import Snapshot
from .text_format import text_line
from .training_frame import NoFrame
from .watches import Watches

if TYPE_CHECKING:
    from .session import Session
    from .stepper import Stepper

#: How long rank 0 waits for another rank to reach its phase (far longer means that rank's
#: run failed).
REACH_S = 60.0


class _SteppedRank:
    """One other rank: its stepper, run in a thread, and the pause it is at."""

    def __init__(self, rank: int, make_session: Callable[[], Session], detail: bool) -> None:
        self.rank = rank
        self.make_session = make_session
        self.detail = detail
        self.watches = Watches(())
        self.stepper: Stepper | None = None
        #: (seq, snapshot, watches' values) of the pause it waits in; None while it runs.
        self.paused: tuple[int, Snapshot, tuple] | None = None
        self.finished = False
        self._news: queue.Queue = queue.Queue()

    def _start(self) -> None:
        """Its run from the start, in a thread of its own, to its first pause."""
        news: queue.Queue = queue.Queue()  # this replay's own: an ended one's last word stays there

        def on_pause(snapshot: Snapshot, reason: str) -> None:  # its training thread
            news.put((stepper.seq, snapshot, self.watches.evaluate_at(stepper)))

        def on_end(*_ended) -> None:
            news.put(None)

        listener = Listener(on_pause=on_pause, on_finish=on_end, on_error=on_end)
        stepper = self.make_session().new_stepper(listener, pause_at_end=True)
        self.stepper, self.paused, self.finished, self._news = stepper, None, False, news
        threading.Thread(target=stepper.run, daemon=True, name=f"loopstep-stepped-rank-{self.rank}").start()
        self._wait()

    # ----- rank 0's training thread ------------------------------------------------------------------
    def bring_to(self, seq: int, changes: Sequence[tuple[int, dict]] = ()) -> RankPause | None:
        """This rank paused at ``seq`` (its pause there), or None: its run ends first.
        ``changes``: (seq, settings) rank 0 changed at its pauses, made here at the same ones
        (again, after a step back ran this rank from its start)."""
        if self.stepper is None:
            self._start()
        if self.paused is not None and self.paused[0] > seq:  # rank 0 stepped back
            self.stepper.quit("stepped back")
            self._start()
        if self.finished or self.paused is None:
            return None
        while self.paused is not None and self.paused[0] < seq:
            here = self.paused[0]
            self._change_at(changes)  # before it goes on from here, as rank 0 did
            stop = min([at for at, _ in changes if here < at < seq], default=seq)
            self.stepper.pause_at_seq(stop)
            self.paused = None
            # Stepped there, as rank 0 was by its keys: the pause has its detail too (this
            # batch's gradient, the forward ops); a validate phase between pauses it first.
            self.stepper.send(*((Command.STEP, stop - here) if self.detail else (Command.CONTINUE, 0)))
            self._wait()
        if self.paused is None or self.paused[0] != seq:
            return None
        _, snapshot, values = self.paused
        return RankPause(snapshot, tuple(values))

    def _change_at(self, changes: Sequence[tuple[int, dict]]) -> None:
        """At its pause of seq s: the settings rank 0 changed at its own pause s (they take
        effect with the command that goes on from here, as rank 0's did)."""
        if self.paused is None or self.stepper is None:
            return
        for at, changed in changes:
            if at == self.paused[0]:
                self.stepper.change_settings(**changed)

    def _wait(self) -> None:
        try:
            news = self._news.get(timeout=REACH_S)
        except queue.Empty:
            news = None
        if news is None:
            self.finished, self.paused = True, None
        else:
            self.paused = news

    def end(self) -> None:
        if self.stepper is not None:
            self.stepper.quit("ended with rank 0")


class SteppedRanks:
    """The :class:`~.protocols.Aligner` of ranks stepped in this process (see the module's
    docstring); ``sessions``: rank -> a function giving that rank's session; ``detail``: the
    others run with the detail of a stepped phase (a live loop's; a replay reads it all)."""

    def __init__(
        self, sessions: dict[int, Callable[[], Session]], world_size: int, *, detail: bool = False
    ) -> None:
        self._ranks = {rank: _SteppedRank(rank, make, detail) for rank, make in sorted(sessions.items())}
        self._world_size = world_size
        self._pauses: dict[int, RankPause] = {}
        #: (seq, settings) changed at rank 0's pauses, in order; what a step back or a
        #: restart leaves behind belongs to a future that did not happen, and goes.
        self._changes: list[tuple[int, dict]] = []
        self._last_seq = 0

    def align(self, seq: int) -> str | None:
        if seq < self._last_seq:  # rank 0 went back (a step back, a restart): later changes go
            self._changes = [(at, changed) for at, changed in self._changes if at <= seq]
        self._last_seq = seq
        self._pauses = {}
        for rank, stepped in self._ranks.items():
            pause = stepped.bring_to(seq, list(self._changes))
            if pause is not None:
                self._pauses[rank] = pause
        return None  # the other ranks have no conditions of their own

    def arrived(self, seq: int) -> bool:
        return False

    def hold(self, seq: int) -> None:
        self._pauses = {}  # rank 0 evaluates alone: the others stay where they are

    def resumed(self, command: str, n: int) -> None:
        """The others go on at the next pause of rank 0's, to its phase."""

    def ended(self) -> None:
        for stepped in self._ranks.values():
            stepped.end()

    def passed(self, seq: int) -> None:
        if seq >= PAST_EVERYTHING:  # rank 0's run is over
            self.ended()

    def settings(self, at: int, *, zero_grad: bool | None = None, lr: float | None = None) -> None:
        changed = {key: value for key, value in (("zero_grad", zero_grad), ("lr", lr)) if value is not None}
        self._changes.append((at, changed))  # made at that pause when the others are there

    def others_at_pause(self) -> list[tuple[int, dict, str]]:
        fields = {"world_size": self._world_size}
        return [
            (rank, {**pause.snapshot.to_json(), "rank": rank, **fields}, text_line(pause.snapshot))
            for rank, pause in sorted(self._pauses.items())
        ]

    def ranks_at_pause(self) -> dict[int, RankPause]:
        return dict(self._pauses)

    def watch(self, expressions: Sequence[str]) -> None:
        for stepped in self._ranks.values():
            watches = Watches(())
            for text in expressions:
                try:
                    watches.add(text)
                except ValueError:
                    continue
            stepped.watches = watches  # read by its thread at its next pause

    def ask_rank(self, rank: int, question: FrameQuestion) -> Future:
        stepped = self._ranks.get(rank)
        if stepped is None or rank not in self._pauses:
            future: Future = Future()
            future.set_exception(NoFrame(f"rank {rank} is not in step at this pause"))
            return future
        stepper = stepped.stepper
        return stepper.ask(lambda: answer_in_frame(stepper.training_frame(), question))

    @property
    def world_size(self) -> int:
        return self._world_size
