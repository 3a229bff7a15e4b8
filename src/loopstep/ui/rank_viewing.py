"""Rank 0's app of a ``torchrun`` job shows any rank's pause, as a mixin of the app: ``R``
goes to the next rank, and every pane draws that rank's own snapshot at this pause (sent by
that rank when it paused in step with rank 0). The keys that step still move every rank.

The loss chart draws every rank's curve, whichever rank is shown. The watches are evaluated
on every rank (rank 0 sends its list along): the watch pane shows the shown rank's values.
The prompt asks the rank shown, in that rank's own training frame (ctrl+r there: every rank,
side by side). The variables pane reads rank 0's frame: it is left empty while another rank
is shown.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from .view import RunView

if TYPE_CHECKING:
    from ..engine.lockstep import RankPause
    from ..engine.session import Session
    from ..engine.snapshot import Snapshot
    from .messages import Paused
    from .view import View


class RankViewing:
    session: Session
    view: View
    #: The rank whose pause the panes show (0: this process's own).
    _rank_shown: int = 0
    #: This pause: (rank 0's snapshot, its watches, its variables) and the other ranks'.
    _own_pause: tuple | None = None
    _other_ranks: dict[int, RankPause] = {}
    #: Rank 0's snapshot at the pause before this one (what its panes compare with).
    _previous_own: Snapshot | None = None

    if TYPE_CHECKING:  # the app's own (a stub here would hide App.notify)

        def notify(self, message: str, **kwargs) -> None: ...

        def _show_snapshot(self, snapshot, state: RunView, reason: str, *, previous=...) -> None: ...

    def _rank_field(self) -> tuple[int, int] | None:
        aligner = self.session.aligner
        return (self._rank_shown, aligner.world_size) if aligner is not None else None

    def _pause_to_show(self, message: Paused) -> Snapshot:
        """A pause came: the snapshot to draw (the shown rank's), the view's watches set."""
        if self._own_pause is not None:
            self._previous_own = self._own_pause[0]
        self._own_pause = (message.snapshot, message.watches, message.variables)
        self._other_ranks = message.others
        stopper = re.match(r"rank (\d+): ", message.reason)
        if stopper is not None and int(stopper.group(1)) in message.others:
            self._rank_shown = int(stopper.group(1))  # a condition of that rank's: show its numbers
        if self._rank_shown and self._rank_shown not in message.others:
            self.notify(f"rank {self._rank_shown} is not in step at this pause: rank 0 is shown", timeout=4)
            self._rank_shown = 0
        return self._rank_view()

    def _rank_view(self) -> Snapshot:
        own, watches, variables = self._own_pause
        shown = own
        if self._rank_shown:
            other = self._other_ranks[self._rank_shown]
            shown, watches, variables = other.snapshot, other.watches, None
        self.view = replace(self.view, watches=watches, variables=variables, rank=self._rank_field())
        if not self._other_ranks:
            return shown
        every = {0: own, **{rank: other.snapshot for rank, other in self._other_ranks.items()}}
        return every_ranks_losses(shown, every, self.session.rank_names)

    def _show_rank(self, rank: int) -> None:
        self._rank_shown = rank
        snapshot = self._rank_view()
        # Back on rank 0: its panes mark what changed since its own pause before this one.
        previous = self._previous_own if rank == 0 else None
        self._show_snapshot(snapshot, self.view.state, self.view.reason, previous=previous)

    def action_next_rank(self) -> None:
        aligner = self.session.aligner
        if aligner is None:
            self.notify("One process: there are no other ranks to show (torchrun starts several).", timeout=3)
            return
        if self.view.state is not RunView.PAUSED or self._own_pause is None:
            self.notify("The ranks are shown at a pause.", timeout=3)
            return
        ranks = [0, *sorted(self._other_ranks)]
        if len(ranks) == 1:
            self.notify("No other rank is in step at this pause.", timeout=3)
            return
        self._show_rank(ranks[(ranks.index(self._rank_shown) + 1) % len(ranks)])
        names = self.session.rank_names
        if self._rank_shown < len(names):
            self.notify(f"the {names[self._rank_shown]} loop (R: the other)", timeout=2)
        else:
            self.notify(f"rank {self._rank_shown} of {aligner.world_size} (R: the next)", timeout=2)


def every_ranks_losses(shown: Snapshot, ranks: dict[int, Snapshot], names: tuple[str, ...] = ()) -> Snapshot:
    """``shown``, its loss chart drawing every rank's own curve ("rank 0", "rank 1", …, or
    the ranks' ``names``): each rank's loss is that of its own shard of the batch."""

    def name(rank: int) -> str:
        return names[rank] if rank < len(names) else f"rank {rank}"

    losses = tuple(
        replace(point, series=name(rank) + (f" {point.series}" if point.series else ""))
        for rank, snapshot in sorted(ranks.items())
        for point in snapshot.losses
    )
    return replace(shown, losses=losses)
