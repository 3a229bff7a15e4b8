"""Rank 0's app of a ``torchrun`` job shows any rank's pause, as a mixin of the app: ``R``
goes to the next rank, and every pane draws that rank's own snapshot at this pause (sent by
that rank when it paused in step with rank 0). The keys that step still move every rank.

The watches, the variables pane and the prompt read rank 0's training frame: while another
rank is shown, the watch and variables panes are left empty rather than show rank 0's values
beside another rank's numbers.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .view import RunView

if TYPE_CHECKING:
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
    _other_ranks: dict[int, Snapshot] = {}

    if TYPE_CHECKING:  # the app's own (a stub here would hide App.notify)

        def notify(self, message: str, **kwargs) -> None: ...

        def _show_snapshot(self, snapshot, state: RunView, reason: str) -> None: ...

    def _rank_field(self) -> tuple[int, int] | None:
        aligner = self.session.aligner
        return (self._rank_shown, aligner.world_size) if aligner is not None else None

    def _pause_to_show(self, message: Paused) -> Snapshot:
        """A pause came: the snapshot to draw (the shown rank's), the view's watches set."""
        self._own_pause = (message.snapshot, message.watches, message.variables)
        self._other_ranks = message.others
        if self._rank_shown and self._rank_shown not in message.others:
            self.notify(f"rank {self._rank_shown} is not in step at this pause: rank 0 is shown", timeout=4)
            self._rank_shown = 0
        return self._rank_view()

    def _rank_view(self) -> Snapshot:
        own, watches, variables = self._own_pause
        if self._rank_shown:
            watches, variables = (), None
        self.view = replace(self.view, watches=watches, variables=variables, rank=self._rank_field())
        return self._other_ranks[self._rank_shown] if self._rank_shown else own

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
        self._rank_shown = ranks[(ranks.index(self._rank_shown) + 1) % len(ranks)]
        snapshot = self._rank_view()
        self._show_snapshot(snapshot, self.view.state, self.view.reason)
        self.notify(f"rank {self._rank_shown} of {aligner.world_size} (R: the next)", timeout=2)
