"""Other runs on the loss chart, kept by the app: ``z`` at a pause of a loop loopstep owns
forks a what-if branch, and the chart draws the curve the run would have drawn with the
setting it had (see :mod:`loopstep.engine.what_if`) beside the one it now draws; a restart
keeps the run that ended, drawn until the next restart.

A mixin of the app. The branch runs in the training thread while the run waits at the
pause; a key pressed meanwhile waits in line behind it, as behind any question of the pause.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..engine.stepper import Settings
from ..engine.what_if import Branch, NoBranch, run_branch, settings_label
from .messages import BranchReady
from .view import RunView
from .widgets.original_curve import show_branch, show_compared, show_original, show_previous

if TYPE_CHECKING:
    from ..engine.snapshot import LossPoint, Snapshot


#: A branch still running after this long says so.
BRANCH_NOTICE_S = 0.5


class WhatIfBranching:
    #: The last branch forked in this run (a new one replaces it; a restart drops it).
    branch: Branch | None = None
    #: The training curve of the run before the last restart (drawn until the next one).
    previous_run: tuple[LossPoint, ...] = ()
    _branch_notice = None

    def _keep_previous_run(self) -> None:
        """At a restart: the run that ends stays on the chart beside the new one."""
        snapshot = self.view.snapshot
        if snapshot is not None and snapshot.losses:
            self.previous_run = snapshot.losses
        self.branch = None

    def _fork_what_if(self, kept: Settings) -> None:
        """Called as a setting changes: fork when the run waits at a pause it can branch from."""
        stepper, session = self.stepper, self.session
        if stepper is None or not session.branches or self.view.state is not RunView.PAUSED:
            return
        if self._busy or self._playing or self._live_timer is not None:
            return
        generation = self.generation
        label = f"what-if: {settings_label(kept, stepper.settings)}"

        def answered(future) -> None:
            try:
                message = BranchReady(generation, branch=future.result())
            except NoBranch as exc:
                message = BranchReady(generation, error=str(exc))
            except Exception as exc:  # noqa: BLE001 - the branch's own loop failed: said, the run goes on
                message = BranchReady(generation, error=f"the what-if branch failed: {exc}")
            self.post_message(message)

        stepper.ask(lambda: run_branch(stepper, session.make_source, kept, label)).add_done_callback(answered)
        # A long loop's branch takes a while: said if it is still running after a moment.
        self._branch_notice = self.set_timer(
            BRANCH_NOTICE_S, lambda: self.notify(f"{label}: running the loop on from here…", timeout=3)
        )

    def on_branch_ready(self, message: BranchReady) -> None:
        if self._branch_notice is not None:
            self._branch_notice.stop()
            self._branch_notice = None
        if message.generation != self.generation:
            return
        if message.branch is None:
            self.notify(message.error, timeout=4)
            return
        self.branch = message.branch
        self._show_other_curves(self.view.snapshot)
        self.notify(
            f"{message.branch.label}: the run as it would have gone from iteration "
            f"{message.branch.since}, drawn on the loss chart",
            timeout=4,
        )

    def _show_other_curves(self, snapshot: Snapshot | None) -> None:
        """The curves beside the run's: before a step back, a what-if branch, compared runs."""
        for chart in self.query("LossChart"):
            show_original(chart, snapshot.extra.get("original_losses") if snapshot is not None else None)
            show_branch(chart, self.branch)
            show_previous(chart, self.previous_run)
            show_compared(chart, self.session.compared)
