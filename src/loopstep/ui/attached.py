"""The app on a run it did not start (``loopstep attach``): the same panes, keys, prompt,
watches and stop conditions, over the stepper of the listening run.

It adopts the run's stepper instead of starting one, shows the pause the run waits in (or
asks for the next one), and ending it is a detach: the run carries on. ``q`` asks whether to
detach or to end the run; ``d`` detaches at once.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ..engine.stepper import RunState
from .app import LoopstepApp
from .messages import Failed, Finished, Paused, StepperReady
from .view import RunView

#: How often the app looks whether the client's terminal is still there.
GONE_CHECK_S = 0.25


class DetachOrEnd(ModalScreen[str | None]):
    BINDINGS = [
        Binding("d", "choose('detach')", "detach"),
        Binding("e", "choose('end')", "end the run"),
        Binding("escape", "choose(None)", "stay"),
    ]
    DEFAULT_CSS = """
    DetachOrEnd { align: center middle; }
    DetachOrEnd > Vertical { width: 76; max-width: 100%; height: auto; border: heavy $accent;
                             background: $surface; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("d  detach: the run carries on at full speed, its stop conditions armed")
            yield Static("e  end the run (its finally blocks run)")
            yield Static("escape  stay attached")

    def action_choose(self, choice: str | None) -> None:
        self.dismiss(choice)


class AttachedApp(LoopstepApp):
    BINDINGS = [Binding("d", "detach", "detach")]

    def __init__(
        self,
        session,
        stepper,
        *,
        reason: str = "",
        no_pause: bool = False,
        client_gone: threading.Event | None = None,
        **kwargs,
    ) -> None:
        """``reason``: why the run is paused now ("" when it is running); ``no_pause``: watch a
        running run run (its live view) instead of pausing it."""
        super().__init__(session, **kwargs)
        self.no_pause = no_pause
        self.attached_stepper = stepper
        self._paused_reason = reason
        #: How the attach ended: "detach", "end", or None (the client went away).
        self.end_choice: str | None = None
        #: Set when the client's terminal went away (even before the app ran).
        self.client_gone = client_gone or threading.Event()

    def on_mount(self) -> None:  # Textual runs LoopstepApp.on_mount too (handlers follow the MRO)
        self.set_interval(GONE_CHECK_S, self._exit_if_gone)
        self.notify("Attached: d detaches (the run carries on), q asks: detach or end the run.", timeout=6)

    def _exit_if_gone(self) -> None:
        if self.client_gone.is_set():
            self.exit(0)

    def _start_run(self) -> None:
        """Adopt the run's stepper: show the pause it waits in, or have it pause at its next phase."""
        self.generation += 1
        stepper = self.attached_stepper
        self._built_stepper = stepper
        self._in_flight = True
        self.view = replace(self.view, state=RunView.LOADING, loading_text="attaching…")
        self._draw()
        self.post_message(StepperReady(self.generation, stepper))
        if stepper.state is RunState.PAUSED and stepper.last_snapshot is not None:
            self.paused_from_run(stepper.last_snapshot, self._paused_reason or "paused")
        elif self.no_pause:
            self.stepper = stepper
            self._in_flight = False
            self.view = replace(self.view, state=RunView.RUNNING)
            self._draw()
            self._start_live()  # s, n, e, c pause it from here as in continue mode
        else:
            stepper.request_pause()

    # ----- called by the listening run, in the training thread --------------------------------
    def paused_from_run(self, snapshot, reason: str) -> None:
        watches, variables = self._read_at_pause(self.attached_stepper)
        snapshot = self._with_watches_charted(snapshot, self.attached_stepper)
        self.post_message(Paused(self.generation, snapshot, reason, watches, variables))

    def finished_from_run(self, snapshot) -> None:
        self.post_message(Finished(self.generation, snapshot))

    def failed_from_run(self, error, snapshot) -> None:
        self.post_message(Failed(self.generation, error, snapshot))

    # ----- ending an attach ---------------------------------------------------------------------
    def _quit_training(self) -> None:
        if self.end_choice == "end":
            self.attached_stepper.quit("ended by the attached app")

    async def stop_run(self) -> None:
        """A restart is not an attached app's to make: the run was started elsewhere."""

    async def action_restart(self) -> None:
        self.notify("An attached run cannot be restarted here: q ends it, d detaches.", timeout=4)

    def action_detach(self) -> None:
        self.end_choice = "detach"
        self.exit(0)

    async def action_quit(self) -> None:
        def chosen(choice: str | None) -> None:
            if choice is not None:
                self.end_choice = choice
                self.exit(0)

        self.push_screen(DetachOrEnd(), chosen)
