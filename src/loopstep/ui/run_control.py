"""How the keys drive the stepper: stepping keys carried out now or kept in line, and the
live view while the run continues freely.

A mixin of the app (it reads and sets the app's view, stepper and timers); kept apart
because it is one concept: what a key press does to the run, in order, never dropped.
"""

from __future__ import annotations

from dataclasses import replace

from ..engine.stepper import Command, Settings
from ..engine.summary import count
from .pending import PendingKeys, Request
from .view import RunView
from .widgets.explain_line import ExplainLine
from .widgets.panes import Panes
from .widgets.phase_bar import PhaseBar
from .widgets.status_line import StatusLine

#: Refreshes per second of the status line and chart while the run continues freely.
LIVE_HZ = 12
#: A step that takes longer than this shows "running" in the status line.
RUNNING_NOTICE_S = 0.15


class RunControl:
    """The stepping actions of :class:`~loopstep.ui.app.LoopstepApp`."""

    _pending: PendingKeys

    # ----- continue mode ---------------------------------------------------------------------
    def _start_live(self) -> None:
        if self._live_timer is None:
            self._live_timer = self.set_interval(1 / LIVE_HZ, self._live_tick, name="live")

    def _stop_live(self) -> None:
        if self._live_timer is not None:
            self._live_timer.stop()
            self._live_timer = None

    def _live_tick(self) -> None:
        stepper = self.stepper
        if stepper is None or self.view.state is not RunView.RUNNING:
            return
        event = stepper.last_event
        self.query_one(StatusLine).show_live(self.view, event)
        self.query_one(PhaseBar).show_event(event, stepper.phase_order.phases)
        for chart in self.query("LossChart"):
            chart.show_history(stepper.history.train, stepper.history.val)
        self._live_metrics()
        findings = self._findings()
        if findings != self.view.findings:
            self.view = replace(self.view, findings=findings)
            self.query_one(StatusLine).show_live(self.view, event)
            for pane in self.query(Panes):
                pane.show(self.view)

    # ----- actions (every key is listed in keys.py) ------------------------------------------
    def _request(self, action: str) -> None:
        """A stepping key: carried out now if the run is paused, else kept in line (never dropped)."""
        over = self.view.state in (RunView.FINISHED, RunView.FAILED)
        if action == "toggle_zero_grad" and (over or self._live_timer is not None or not self._busy):
            self._toggle_zero_grad()  # takes effect at the next phase, in continue mode too
            return
        if over and not (action == "step_back" and self._at_last_pause()):
            tail = " (u steps back)" if self._at_last_pause() else ""
            self.notify(f"The run is over: press r to restart it{tail}.", timeout=3)
            return
        if self._live_timer is not None:
            # Running freely: pause at the next phase (that is the step), then carry the key out.
            if self.stepper is not None:
                self.stepper.request_pause()
            if action != "step":
                self._pending.add(action)
            return
        if self._busy:
            self._pending.add(action)
            self._show_running()
            return
        self._perform(Request(action))

    def _at_last_pause(self) -> bool:
        """The run is over but its thread waits at the end, where step back still works."""
        snapshot = self.view.snapshot
        return (
            self.view.state is RunView.FINISHED
            and snapshot is not None
            and snapshot.finished
            and self.stepper is not None
            and self.stepper.state.value == "paused"
        )

    @property
    def _busy(self) -> bool:
        """A key now would come before the pause of one pressed earlier: it waits in line."""
        return self._in_flight or bool(self._pending) or self.stepper is None

    def _carry_out_pending(self) -> None:
        """At a pause: the keys that waited, in order, up to the next one that runs the loop."""
        while not self._in_flight:
            request = self._pending.pop()
            if request is None:
                break
            self._perform(request)
        if not self._in_flight and self.view.state is RunView.RUNNING:
            self.view = replace(self.view, state=RunView.PAUSED)
            self.query_one(StatusLine).show(self.view)

    def _forget_pending(self) -> None:
        if self._pending:
            self.notify(
                f"The run ended: {count(self._pending.presses(), 'key press', 'key presses')} not carried out.",
                timeout=4,
            )
            self._pending.clear()

    def _perform(self, request: Request) -> None:
        action = request.action
        if action == "toggle_zero_grad":
            self._toggle_zero_grad()
            return
        if self.view.state in (RunView.FINISHED, RunView.FAILED) and not (
            action == "step_back" and self._at_last_pause()
        ):
            self._forget_pending()
            return
        self._in_flight = True
        self.view = replace(self.view, state=RunView.RUNNING)
        if action == "step_back":
            self.query_one(StatusLine).show(self.view)
            self.stepper.step_back(request.count)
            return
        command = {"step": Command.STEP, "next": Command.NEXT, "epoch": Command.EPOCH}.get(action)
        if command is not None:
            self.stepper.send(command, request.count)
        else:  # continue
            self.stepper.send(Command.CONTINUE)
            self._show_running()
            self._start_live()
            self.query_one(ExplainLine).show_running()
            return
        # Say "running" only if the pause is slow to come: a quick step stays one repaint.
        if self._running_notice is None:
            self._running_notice = self.set_timer(RUNNING_NOTICE_S, self._show_running)

    def _show_running(self) -> None:
        self._running_notice = None
        if self.view.state is not RunView.RUNNING and (self._in_flight or self._pending):
            self.view = replace(self.view, state=RunView.RUNNING)
        if self.view.state is RunView.RUNNING:
            self.query_one(StatusLine).show(self.view)

    def action_step(self) -> None:
        self._request("step")

    def action_next(self) -> None:
        self._request("next")

    def action_epoch(self) -> None:
        self._request("epoch")

    def action_continue(self) -> None:
        if self._playing:  # playing at a pace (ui/playing.py): stop where it is
            self._stop_playing()
            self.notify("paused: c plays on", timeout=2)
            return
        if self.pace is not None and self._live_timer is None and self.view.state is RunView.PAUSED:
            self._start_playing()
            return
        if self._live_timer is not None:
            if self.stepper is not None:
                self.stepper.request_pause()
            return
        self._request("continue")

    def action_step_back(self) -> None:
        self._request("step_back")

    def action_toggle_zero_grad(self) -> None:
        self._request("toggle_zero_grad")

    def _toggle_zero_grad(self) -> None:
        zero_grad = not self.view.zero_grad
        self.view = replace(self.view, zero_grad=zero_grad)
        if self.stepper is not None:
            kept = Settings(self.stepper.settings.zero_grad, self.stepper.settings.lr)
            self.stepper.change_settings(zero_grad=zero_grad)
            self._fork_what_if(kept)  # the run as it would have gone, drawn beside it
        if self.session.code_for is not None:  # the code shows the zero_grad line as it now runs
            self.view = replace(self.view, code=self._code_for(self.view.snapshot))
        self._draw()
        self.notify(
            "zero_grad ON: .grad is wiped after every step."
            if zero_grad
            else "zero_grad OFF: each backward now adds onto .grad.",
            timeout=3,
        )
