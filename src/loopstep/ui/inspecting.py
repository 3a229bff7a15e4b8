"""Asking the run your own questions at a pause: the expression prompt, the watches and the
variables pane. A mixin of the app.

Whatever touches the training code's objects runs in the training thread: the watches and
the variables are read there at each pause before the pause is posted (one message, no
second round trip), and the prompt's expressions and a row's parts go through
``stepper.ask``. This side only draws the plain answers.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from functools import partial
from typing import Any

from ..engine.expressions import FrameQuestion, answer_in_frame
from ..engine.training_frame import NoFrame
from ..engine.watches import Watches
from .messages import InspectionRead
from .view import RunView


def _pretty(value: Any) -> str:
    from rich.pretty import pretty_repr

    return pretty_repr(value, max_width=100)


class Inspecting:
    """The inspection actions of :class:`~loopstep.ui.app.LoopstepApp`."""

    def _init_inspecting(self) -> None:
        #: The watch list outlives a restart (r): one list for the whole session.
        self.watches = Watches(self.session.watches)
        self._tell_ranks_the_watches()
        #: Lines typed at the prompt, for up/down, across openings of it.
        self.prompt_history: list[str] = []
        #: The variables pane is on screen: the training thread reads its rows at each pause.
        self.variables_shown = False

    # ----- the training thread's side ------------------------------------------------------
    def _read_at_pause(self, stepper) -> tuple[tuple, tuple | None]:
        """Called in the training thread, at the pause: the watches' values and (when the pane
        is shown) the variables. Never raises: a failure reads as no values."""
        watches = self.watches.evaluate_at(stepper) if self.watches.expressions else ()
        variables = None
        if self.variables_shown:
            from ..engine.variables import frame_variables

            try:
                variables = tuple(frame_variables(stepper.training_frame()))
            except NoFrame:
                variables = ()
        return watches, variables

    def _with_watches_charted(self, snapshot, stepper):
        """The snapshot, its metrics read again once the watches were (their numbers are
        charted over time, and the snapshot was taken before they were evaluated)."""
        if not self.watches.expressions or snapshot is None:
            return snapshot
        return replace(snapshot, metrics=stepper.metrics.frozen())

    def ask_in_frame(self, question: Callable[[Any], Any]) -> Future:
        """``question(frame)`` answered by the training thread at this pause (or the next)."""
        stepper = self.stepper
        if stepper is None:
            future: Future = Future()
            future.set_exception(NoFrame("the run is not started yet"))
            return future
        return stepper.ask(lambda: question(stepper.training_frame()))

    # ----- actions ----------------------------------------------------------------------------
    def action_prompt(self) -> None:
        from .screens.prompt import PromptScreen

        if self.view.state is RunView.RUNNING:
            self.notify("Pause first (c): expressions are evaluated at a pause.", timeout=3)
            return
        self.push_screen(
            PromptScreen(self._prompt_frames(), self.prompt_history, on_modified=self._modified_by_you)
        )

    def _prompt_frames(self) -> list:
        """The frames the prompt asks: this process's, or in a torchrun job each rank in step
        at this pause, the one shown first."""
        from .screens.prompt import FrameAsker

        def here(question: FrameQuestion) -> Future:
            return self.ask_in_frame(lambda frame: answer_in_frame(frame, question, _pretty))

        aligner = self.session.aligner
        if aligner is None:
            return [FrameAsker("", here)]
        frames = [FrameAsker("rank 0", here)] + [
            FrameAsker(f"rank {rank}", partial(aligner.ask_rank, rank)) for rank in sorted(self._other_ranks)
        ]
        shown = next((i for i, frame in enumerate(frames) if frame.label == f"rank {self._rank_shown}"), 0)
        return frames[shown:] + frames[:shown]

    def action_watches(self) -> None:
        from .screens.watches import WatchesScreen

        self.push_screen(WatchesScreen(list(self.watches.expressions)), self._set_watches)

    def _set_watches(self, items: list[str] | None) -> None:
        if items is None:
            return
        for old in self.watches.expressions:
            if old not in items:
                self.watches.remove(old)
        for item in items:
            self.watches.add(item)
        self._tell_ranks_the_watches()
        shown = self._rank_shown
        if shown:  # read again here on rank 0; the other ranks evaluate them at the next pause
            self._show_rank(0)
        later = f" (rank {shown}'s values at the next pause)" if shown else ""
        self.notify("watches: " + (", ".join(items) if items else "none") + later, timeout=3)
        self._read_again()

    def _tell_ranks_the_watches(self) -> None:
        if self.session.aligner is not None:  # a torchrun job: every rank evaluates them
            self.session.aligner.watch(self.watches.expressions)

    def action_toggle_variables(self) -> None:
        self.variables_shown = not self.variables_shown
        for pane in self.query("Panes"):
            pane.show_variables(self.variables_shown)
        if self.variables_shown:
            self._read_again()

    def _modified_by_you(self) -> None:
        """A statement changed the run: say so, and draw the panes from a fresh snapshot."""
        self.view = replace(self.view, modified=True)
        self._read_again(snapshot=True)

    def _read_again(self, *, snapshot: bool = False) -> None:
        """Read the watches (and variables, and the snapshot) again at the pause the run is in."""
        stepper, generation = self.stepper, self.generation
        if stepper is None or self.view.state not in (RunView.PAUSED, RunView.FINISHED):
            self._draw()
            return

        def question():
            fresh = stepper.snapshot() if snapshot else None
            return self._read_at_pause(stepper) + (fresh,)

        def done(future: Future) -> None:
            try:
                watches, variables, fresh = future.result()
            except Exception:  # noqa: BLE001 - the run ended meanwhile: nothing to redraw
                return
            self.post_message(InspectionRead(generation, watches, variables, fresh))

        stepper.ask(question).add_done_callback(done)

    def on_inspection_read(self, message: InspectionRead) -> None:
        if message.generation != self.generation:
            return
        changes: dict[str, Any] = {"watches": message.watches, "variables": message.variables}
        if message.snapshot is not None:
            changes.update(snapshot=message.snapshot, previous=self.view.snapshot)
        self.view = replace(self.view, **changes)
        self._draw()

    def read_parts(self, path: tuple[str, ...], key: object) -> None:
        """The variables pane opened a row: its parts, read by the training thread."""
        from ..engine.variables import parts_of
        from .widgets.variables_pane import PartsRead

        def done(future: Future) -> None:  # the training thread: only a message crosses over
            try:
                parts = future.result()
            except Exception:  # noqa: BLE001 - no frame any more: the row stays closed
                parts = []
            self.post_message(PartsRead(path, parts, key))

        self.ask_in_frame(lambda frame: parts_of(frame, path)).add_done_callback(done)

    def on_parts_read(self, message) -> None:
        from .widgets.variables_pane import VariablesPane

        for pane in self.query(VariablesPane):
            pane.add_parts(message)
