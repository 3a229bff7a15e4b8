"""The debugger app: panes over the snapshot of the last pause, keys that drive the stepper.

The training code runs in a Textual thread worker. The stepper's listener (training thread)
only posts messages; every widget is touched from the app's own thread. While the run
continues freely, nothing is snapshotted per phase: a timer reads the loss history and the
last event a few times a second.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import replace

from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.screen import Screen
from textual.worker import Worker

from ..engine.control import REFUSED
from ..engine.phases import Phase
from ..engine.session import Session
from ..engine.stepper import Command, Listener, Settings, Stepper, TrainingError
from .charting import Charting, import_the_chart
from .compact_output import compact_driver
from .inspecting import Inspecting
from .keys import KEYS, bindings
from .messages import Failed, Finished, Paused, StepperReady
from .pending import PendingKeys
from .playing import Playing
from .rank_viewing import RankViewing
from .run_control import RunControl
from .view import Comparison, RunView, View
from .what_if import WhatIfBranching
from .widgets.error_pane import ErrorPane
from .widgets.explain_line import ExplainLine
from .widgets.key_hints import KeyHints
from .widgets.panes import Panes
from .widgets.phase_bar import PhaseBar
from .widgets.status_line import StatusLine

#: Where ctrl+s puts its screenshots, relative to the current folder.
SCREENSHOTS_FOLDER = "loopstep-screenshots"
#: Time given to the first frame to reach the terminal before the panes are built: the
#: driver writes it from a thread, which building them (imports, GIL-heavy) would starve.
FIRST_FRAME_GRACE_S = 0.05


#: ``_show_snapshot`` compares with the pause drawn before (see :class:`.view.Comparison`).
COMPARE = object()


class LoopstepApp(RunControl, Playing, Inspecting, RankViewing, WhatIfBranching, Charting, App[int]):
    CSS_PATH = "loopstep.tcss"
    BINDINGS = bindings()
    TITLE = "loopstep"

    def __init__(
        self,
        session: Session,
        *,
        driver_class=None,
        on_print: Callable[[str, bool], None] | None = None,
    ) -> None:
        """``on_print(text, stderr)`` receives what the training code prints while the app
        is up (the front-end runner sends it to a redirected stream or keeps it)."""
        super().__init__(driver_class=driver_class)
        self.driver_class = compact_driver(self.driver_class)  # the same screen in fewer bytes
        self.session = session
        self._on_print = on_print
        self.stepper: Stepper | None = None
        self.generation = 0
        self.worker: Worker | None = None
        aligner = session.aligner  # a torchrun job: the status line says the rank shown
        self.view = View(
            title=session.title,
            zero_grad=session.settings.zero_grad,
            rank=(0, aligner.world_size) if aligner is not None else None,
            rank_names=session.rank_names,
        )
        #: Pauses drawn so far; tests and the benchmark wait on it.
        self.pauses_drawn = 0
        self._drawn: list | None = None  # see _drawn_widgets
        #: The code pane shows the framework's frame that ran the phase, not the user's line (f).
        self.framework_frame = False
        self._live_timer = None
        self._built_stepper: Stepper | None = None
        #: A command was sent (or the run is starting) and its pause has not come yet.
        self._in_flight = False
        #: Keys pressed meanwhile: carried out, in order, at the next pauses.
        self._pending = PendingKeys()
        self._running_notice = None  # timer that shows "running" when a pause is slow to come
        self._comparison = Comparison()
        self.pace = session.pace
        self._init_inspecting()

    # ----- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield PhaseBar()
        yield ExplainLine()
        yield ErrorPane()
        yield Panes("pending")
        yield KeyHints()

    def on_mount(self) -> None:
        self._draw()
        if self._on_print is not None:
            self.begin_capture_print(self)

    def on_print(self, event: events.Print) -> None:
        if self._on_print is not None:
            self._on_print(event.text, event.stderr)

    def on_ready(self) -> None:
        # The first frame is on its way to the terminal. Once it is out, build the panes, then
        # start the run: building the source may import PyTorch, which holds the GIL for long
        # stretches and would hold up a frame.
        self.set_timer(FIRST_FRAME_GRACE_S, self._open_panes)

    async def _open_panes(self) -> None:
        await self.query_one(Panes).open()
        self.set_timer(FIRST_FRAME_GRACE_S, self._start_run)

    def _start_run(self) -> None:
        self.generation += 1
        generation = self.generation
        self.stepper = None
        self._in_flight = True  # the pause at the start answers "start"
        loading = "loading PyTorch…" if self.session.backend == "torch" else "starting…"
        self.view = replace(
            self.view, state=RunView.LOADING, loading_text=loading, error=None, snapshot=None, previous=None,
            modified=False, variables=None,
        )  # fmt: skip
        self._draw()
        self.worker = self.run_worker(
            lambda: self._train(generation), thread=True, name=f"training-{generation}", group="training"
        )

    def _train(self, generation: int) -> None:
        """Runs in the worker thread: build the source, then run it to its end."""
        made: list[Stepper] = []  # the stepper, once made: the pause reads the watches through it

        aligner = self.session.aligner

        def paused(snapshot, reason: str) -> None:
            watches, variables = self._read_at_pause(made[0]) if made else ((), None)
            snapshot = self._with_watches_charted(snapshot, made[0]) if made else snapshot
            others = aligner.ranks_at_pause() if aligner is not None else None  # read while paused
            self.post_message(Paused(generation, snapshot, reason, watches, variables, others))
            import_the_chart()  # while the user reads the pause, not inside the next step

        listener = Listener(
            on_pause=paused,
            on_finish=lambda snapshot: self.post_message(Finished(generation, snapshot)),
            on_error=lambda error, snapshot: self.post_message(Failed(generation, error, snapshot)),
        )
        try:
            stepper = self.session.new_stepper(listener, pause_at_end=True)  # step back from the end
        except Exception as exc:  # noqa: BLE001 - a broken factory or script is shown in the app
            error = TrainingError(exc, "".join(traceback.format_exception(exc)), "start", None)
            self.post_message(Failed(generation, error, None))
            return
        self._built_stepper = stepper  # stop_run finds it here even before StepperReady is handled
        made.append(stepper)
        if generation != self.generation:
            return
        if stepper.settings.zero_grad != self.view.zero_grad:
            stepper.change_settings(zero_grad=self.view.zero_grad)
        self.post_message(StepperReady(generation, stepper))
        stepper.run()

    def on_stepper_ready(self, message: StepperReady) -> None:
        if message.generation != self.generation:
            return
        self.stepper = message.stepper
        self._arm_metrics()

    def on_paused(self, message: Paused) -> None:
        if message.generation != self.generation:
            return
        self._stop_live()
        if self._running_notice is not None:
            self._running_notice.stop()
            self._running_notice = None
        self._in_flight = False
        snapshot = self._pause_to_show(message)  # this rank's, or the one shown (R)
        if message.snapshot.finished:  # the last pause of a rewindable run: u still steps back
            self._forget_pending()
            self._stop_playing()
            self._show_snapshot(snapshot, RunView.FINISHED, message.reason)
            return
        state = RunView.RUNNING if self._pending else RunView.PAUSED
        self._show_snapshot(snapshot, state, message.reason)
        self._carry_out_pending()
        self._played(message.reason)  # playing at a pace: the next iteration, in 1/pace s

    def on_finished(self, message: Finished) -> None:
        if message.generation != self.generation:
            return
        self._stop_live()
        self._stop_playing()
        self._in_flight = False
        self._forget_pending()
        self._show_snapshot(message.snapshot, RunView.FINISHED, "finished")

    def on_failed(self, message: Failed) -> None:
        if message.generation != self.generation:
            return
        self._stop_live()
        self._in_flight = False
        self._forget_pending()
        self.view = replace(self.view, error=message.error)
        self._show_snapshot(message.snapshot or self.view.snapshot, RunView.FAILED, "error")

    def _show_snapshot(self, snapshot, state: RunView, reason: str, *, previous=COMPARE) -> None:
        """Draw ``snapshot``; ``previous``: what its panes mark changes against (by default
        the pause drawn before; another rank's pause marks none)."""
        code = None
        if self.session.code_for is not None:
            code = self._code_for(snapshot)
        self._note_rewind(snapshot, reason)
        if previous is COMPARE:
            previous = None if self._rank_shown else self._comparison.previous_for(self.view, snapshot)
        self.view = replace(
            self.view,
            findings=self._findings(),
            state=state,
            snapshot=snapshot,
            previous=previous,
            reason=reason,
            code=code,
        )
        self._draw()
        self._show_other_curves(snapshot)
        self.pauses_drawn += 1

    def _code_for(self, snapshot):
        """The code pane's text for this pause, written with the settings in force now: the
        user's line, or with f the framework's own frame that ran the phase."""
        lr = snapshot.lr if snapshot is not None else self.session.settings.lr
        settings = Settings(zero_grad=self.view.zero_grad, lr=lr)
        event = snapshot.event if snapshot is not None else None
        if self.framework_frame and event is not None and event.framework is not None:
            event = replace(event, location=event.framework)
        ranks_code = self.session.rank_code  # the loops side by side each show their own
        code_for = (
            ranks_code[self._rank_shown] if self._rank_shown < len(ranks_code) else self.session.code_for
        )
        return code_for(event, settings)

    def action_toggle_framework_frame(self) -> None:
        event = self.view.snapshot.event if self.view.snapshot is not None else None
        if not self.framework_frame and (event is None or event.framework is None):
            self.notify("Your own code ran this phase: there is no framework frame to show.", timeout=3)
            return
        self.framework_frame = not self.framework_frame
        if self.session.code_for is not None:
            self.view = replace(self.view, code=self._code_for(self.view.snapshot))
            self._draw()
        where = "the framework's frame" if self.framework_frame else "your line"
        self.notify(f"code: {where} (f switches back)", timeout=2)

    def _findings(self) -> tuple:
        from ..engine.diagnostics import diagnostics_of  # not before the first frame

        diagnostics = diagnostics_of(self.stepper) if self.stepper is not None else None
        return tuple(diagnostics.findings) if diagnostics is not None else ()

    def _note_rewind(self, snapshot, reason: str) -> None:
        """Say which stop condition paused the run, why a step back could not happen, and
        once when memory shortens the step-back window."""
        # "rank 1: break: …": another rank's own condition stopped the job here.
        if reason.startswith(("cannot step back", "break:", REFUSED)) or re.match(
            r"rank \d+: break:", reason
        ):
            self.notify(reason, timeout=5)
        if reason.startswith(REFUSED) and self.stepper is not None:
            self.session.conditions = list(self.stepper.conditions)  # a restart does without it too
        notice = snapshot.extra.get("rewind_notice") if snapshot is not None else None
        if notice and not getattr(self, "_rewind_noticed", False):
            self._rewind_noticed = True
            self.notify(notice, timeout=6)

    def _draw(self) -> None:
        """Hand the view to every pane; each one redraws only if its part changed."""
        view = self.view
        for found in self._drawn_widgets():
            found.show(view)

    def _drawn_widgets(self) -> list:
        """The widgets :meth:`_draw` hands the view to, found once: composed with the app, they
        stay for its life (a query of the whole screen at every step cost a third of a step)."""
        if self._drawn is None:
            found = [
                w for kind in (StatusLine, PhaseBar, ExplainLine, ErrorPane, Panes) for w in self.query(kind)
            ]
            if len(found) < 5:
                return found  # not composed yet
            self._drawn = found
        return self._drawn

    def action_breakpoints(self) -> None:
        from .screens.breakpoints import BreakpointsScreen

        if self.view.state is RunView.RUNNING:
            self.notify("Pause first (c), then set stop conditions.", timeout=3)
            return
        current = [str(c) for c in (self.stepper.conditions if self.stepper else self.session.conditions)]
        probe = self.stepper.source.probe if self.stepper is not None else None
        names = probe.trainable() if probe is not None else ()
        self.push_screen(BreakpointsScreen(current, parameters=names), self._set_conditions)

    def _set_conditions(self, specs: list[str] | None) -> None:
        if specs is None:
            return
        from ..engine.breakpoints import parse_conditions

        conditions = parse_conditions(specs)  # already checked one by one in the dialog
        self.session.conditions = conditions
        if self.stepper is not None and self.view.state is not RunView.RUNNING:
            self.stepper.set_conditions(conditions)
        self.notify("stop conditions: " + (", ".join(specs) if specs else "none"), timeout=3)

    async def action_restart(self) -> None:
        await self.stop_run()
        self._stop_live()
        self._pending.clear()
        self._keep_previous_run()
        self._start_run()

    def action_save_svg(self) -> None:
        """An SVG screenshot in SCREENSHOTS_FOLDER (under the current folder), named after the
        run, the phase and the time, so that it can be found again."""
        folder = os.path.abspath(SCREENSHOTS_FOLDER)
        event = self.view.snapshot.event if self.view.snapshot is not None else None
        where = f"-i{event.iteration}-{event.phase.value}" if event is not None else ""
        title = re.sub(r"[^A-Za-z0-9._-]+", "_", self.session.title)[:40].strip("_") or "run"
        name = f"{title}{where}-{time.strftime('%Y%m%d-%H%M%S')}.svg"
        try:
            os.makedirs(folder, exist_ok=True)
            path = self.save_screenshot(filename=name, path=folder)
        except OSError as exc:
            self.notify(f"could not save the screenshot in {folder}: {exc.strerror or exc}", severity="error")
            return
        self.notify(f"screenshot saved: {path}", timeout=6)

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_quick_check(self) -> None:
        from .screens.quick_check import QuickCheckScreen

        self.push_screen(QuickCheckScreen())

    async def action_quit(self) -> None:
        self._quit_training()
        self.exit(1 if self.view.state is RunView.FAILED else 0)

    def on_unmount(self) -> None:
        # However the app ends, the training thread must not stay blocked at a pause.
        self._quit_training()

    def _quit_training(self) -> None:
        self.generation += 1
        for stepper in {self.stepper, self._built_stepper} - {None}:
            stepper.send(Command.QUIT)

    async def stop_run(self) -> None:
        """End the current run and wait until its training thread has unwound."""
        worker = self.worker
        self.generation += 1  # whatever the old run still posts is dropped
        # The worker may still be building its source: keep telling whichever stepper it made.
        while True:
            for stepper in {self.stepper, self._built_stepper} - {None}:
                stepper.send(Command.QUIT)
            if worker is None or worker.is_finished:
                break
            await asyncio.sleep(0.01)
        self.stepper = None
        self._built_stepper = None

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for key in KEYS:
            if key.action == "quit":
                continue
            yield SystemCommand(key.label.capitalize(), key.help, getattr(self, f"action_{key.action}"))

    @property
    def phase(self) -> Phase | None:
        """The phase of the snapshot on screen (None before the first one)."""
        snapshot = self.view.snapshot
        return snapshot.event.phase if snapshot is not None and snapshot.event is not None else None
