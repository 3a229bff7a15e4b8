"""The stepper: decides where a run pauses and hands out snapshots.

Whatever produces the phases (a loop loopstep owns, or a user's script whose calls are
intercepted) calls :meth:`Stepper.at_phase` from its training thread after each phase.
The stepper either lets it go on at once, or pauses: it builds a snapshot, tells the
listener, and blocks until a command arrives from another thread (the UI) or from a
synchronous controller (the text front end). This is pdb's shape: the debuggee calls
into the debugger; the debugger never builds a UI.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from .control import (
    LIVE,
    REFUSED,
    Command,
    ConditionRefused,
    InternalError,
    Listener,
    Mode,
    Observer,
    PhaseSource,
    RunState,
    Settings,
    StopCondition,
    StopRun,
    TrainingError,
    command_target_reached,
    iteration_in_focus,
    same_phase,
)
from .history import LossHistory
from .lockstep import Lockstepping
from .lookback import LookBack
from .metrics import MetricsRecorder
from .phase_order import PhaseOrder
from .phases import Phase, PhaseEvent
from .questions import AnsweringQuestions, answer_question
from .rewind import CheckpointWindow, Rewind
from .settings_changes import ChangingSettings
from .snapshot import Snapshot
from .snapshot_taking import take_snapshot
from .stepping_back import SteppingBack
from .unwatched import UnwatchedRun


class Stepper(ChangingSettings, SteppingBack, AnsweringQuestions, UnwatchedRun, Lockstepping):
    def __init__(
        self,
        source: PhaseSource,
        *,
        listener: Listener | None = None,
        controller: Callable[[Snapshot, str], tuple[Command, int] | Command] | None = None,
        conditions: Sequence[StopCondition] = (),
        max_iterations: int | None = None,
        settings: Settings | None = None,
        pause_at_start: bool = True,
        pause_at_end: bool = False,
        observers: Sequence[Observer] = (),
        history: int = 0,
        history_mb: float = 512.0,
    ) -> None:
        self.source = source
        self.listener = listener or Listener()
        self.controller = controller
        self.conditions: list[StopCondition] = list(conditions)
        self.max_iterations = max_iterations
        self.settings = settings or Settings()
        self.pause_at_start = pause_at_start
        #: An interactive front end pauses at the end too, where a rewindable run can step back.
        self.pause_at_end = pause_at_end
        self.history = LossHistory()
        self.phase_order = PhaseOrder()
        self.state = RunState.READY
        self.last_event: PhaseEvent | None = None
        self.last_snapshot: Snapshot | None = None
        #: The front end shows only the phase, the parameters and their grads (a printed
        #: stream): snapshots leave out the batch's tensors and the curves (summarizing a
        #: small model's x, pred, loss and y at every phase cost more than its training).
        self.brief_snapshots = False
        self.error: TrainingError | None = None
        self.grad_passes = 0
        self._mode = Mode(Command.STEP)
        self._commands: queue.Queue[tuple[Command, int]] = queue.Queue()
        self._pause_requested = threading.Event()
        self._quit = threading.Event()
        #: Why the run was asked to end ("quit", "signal 15"): a recording's end mark says so.
        self.quit_reason = "quit"
        #: Set when run() returns, however it ended: a front end waits on it before exiting.
        self.ended = threading.Event()
        #: The phase the source is running now (see :meth:`entering`), for an error's "during".
        self.phase_running: Phase | None = None
        self.phase_at: tuple[int, int] | None = None
        LIVE.add(self)
        self._pending_settings: Settings | None = None
        self._lock = threading.Lock()
        self.metrics = MetricsRecorder()  # grad norms, update ratio, lr over time
        self.observers: list[Observer] = [*observers, self.metrics]
        #: Checkpoints for step back: only for sources that can restore them (loops loopstep owns).
        self.checkpoints: CheckpointWindow | None = (
            CheckpointWindow(history, history_mb) if history > 0 and source.supports_rewind else None
        )
        #: For a run that cannot be rewound (a script's loop): the last pauses, shown again read-only.
        self.look_back: LookBack | None = (
            LookBack(history) if history > 0 and self.checkpoints is None else None
        )
        self._events: list[PhaseEvent] = []
        self._replay_to: PhaseEvent | None = None
        self._seq = 0  # events reported so far (a rewind sets it back)
        #: (seq, settings): settings put in force at a pause after event number seq.
        self._settings_log: list[tuple[int, Settings]] = []

    # ----- controls: safe to call from any thread -------------------------------------------
    def send(self, command: Command, n: int = 0) -> None:
        """Queue a command; ``n`` counts phases for STEP, iterations for RUN, phases for BACK."""
        if command is Command.QUIT:
            self._quit.set()
            self._tell_source()  # a quiet source must report again, to end at its next phase
        self._commands.put((command, n))

    def quit(self, reason: str = "quit") -> None:
        """End the run at its next phase (or pause); ``reason`` is kept for the recording."""
        if not self._quit.is_set():
            self.quit_reason = reason
        self.send(Command.QUIT)

    def wait_ended(self, timeout: float | None = None) -> bool:
        """Wait for a started run to unwind; True at once for a run that never started."""
        if self.state is RunState.READY:
            return True
        return self.ended.wait(timeout)

    def set_conditions(self, conditions: Sequence[StopCondition]) -> None:
        """Replace the stop conditions (call while paused); removed ones switch their watches off."""
        for old in self.conditions:
            if old not in conditions:
                old.disarm(self)
        self.conditions = list(conditions)
        self._prepare_conditions()
        self._tell_source()

    def _prepare_conditions(self) -> None:
        for condition in self.conditions:
            condition.prepare(self)

    def request_pause(self) -> None:
        """Pause at the next phase (takes effect within one phase)."""
        self._pause_requested.set()
        self._tell_source()

    # ----- what the source reads ---------------------------------------------------------
    @property
    def wants_detail(self) -> bool:
        """True when a pause inside the current iteration is likely, so recording the
        forward ops and per-pass gradients is worth its cost."""
        return self._mode.command in (Command.STEP, Command.NEXT) or self._pause_requested.is_set()

    # ----- the debuggee side: called by the source in the training thread -----------------------
    def entering(self, phase: Phase, at: tuple[int, int] | None = None) -> None:
        """The source starts running ``phase`` (its at_phase follows): an error raised before
        that is "during" it; one raised between two phases is "after" the last one. ``at``:
        the (epoch, iteration) it runs in, where that is not the last event's."""
        self.phase_running = phase
        self.phase_at = at

    def run(self) -> RunState:
        """Run the source to its end in this thread. Returns the final state."""
        self.state = RunState.RUNNING
        try:
            self._apply_pending()
            self.source.run(self)
        except StopRun:
            pass
        except KeyboardInterrupt:
            pass
        except BaseException as exc:  # noqa: BLE001 - a crash in user code is shown, not raised
            self._close_source()
            self._fail(exc)
            self.ended.set()
            self._drop_questions()
            return self.state
        self._close_source()
        self.state = RunState.FINISHED
        try:
            snapshot = self._safe_snapshot(finished=True)
            if self.listener.on_finish:
                self.listener.on_finish(snapshot)
        finally:
            self.ended.set()
            self._drop_questions()
        return self.state

    def _close_source(self) -> None:
        """The run is over: whatever the source installed (hooks, watches) comes off now."""
        self._leave_job()
        try:
            self.source.close()
        except Exception:  # noqa: BLE001 - a failure to clean up must not hide how the run ended
            pass

    def at_start(self) -> None:
        """The source is ready and nothing has run yet: the first pause."""
        self._prepare_conditions()
        if self.pause_at_start:
            self._pause(None, "start")
        self._leave_boundary(None)

    def at_end(self) -> None:
        """A rewindable source has run its last phase: the last pause, where step back still
        works (it raises Rewind from here); any other command ends the run."""
        if self.pause_at_end and self.checkpoints is not None and not self._quit.is_set():
            self._pause(self.last_event, "finished", finished=True)

    def at_phase(self, event: PhaseEvent) -> None:
        if self._quit.is_set():
            raise StopRun
        if self.max_iterations is not None and event.iteration >= self.max_iterations:
            raise StopRun
        try:
            self._at_phase(event)
        except (StopRun, Rewind, KeyboardInterrupt, InternalError):
            raise
        except Exception as exc:
            # loopstep's own work failed inside the training code's call: not the user's error.
            raise InternalError(exc).with_traceback(exc.__traceback__) from exc

    def _at_phase(self, event: PhaseEvent) -> None:
        self.phase_running = None
        self.phase_at = None
        self._record(event)
        self.last_event = event
        self._log(event)
        self._seq += 1
        self._reach_boundary(event)
        # Observers see replayed phases too: after a step back they run again for real.
        for observer in self.observers:
            observer.observe(event, self)
        if self._replay_to is not None:
            if same_phase(event, self._replay_to):
                self._replay_to = None
                # What the user set at this pause before belongs to the old future.
                self._settings_log = [(seq, s) for seq, s in self._settings_log if seq < self._seq]
                self._pause(event, "stepped back")
            else:
                self._replay_settings()
            return
        if self.listener.on_event is not None:
            self.listener.on_event(event)
        reason = self._pause_reason(event)
        if reason is not None:
            self._pause(event, reason)
        self._leave_boundary(event)

    # ----- internals --------------------------------------------------------------------------
    def _log(self, event: PhaseEvent) -> None:
        self._events.append(event)
        if len(self._events) > 8192:
            del self._events[:4096]

    def _record(self, event: PhaseEvent) -> None:
        phase = event.phase
        self.history.add(event)
        self.phase_order.add(event)
        if phase is Phase.BACKWARD:
            self.grad_passes += 1
        elif phase is Phase.ZERO_GRAD and not event.skipped:
            self.grad_passes = 0

    def _pause_reason(self, event: PhaseEvent) -> str | None:
        if self._pause_at is not None and (reason := self._lockstep_reason()) is not None:
            # Paused where rank 0 is: the conditions still see the phase, or an iteration=N
            # entered here would fire at the next phase, as if entered there.
            self._condition_reason(event)
            return reason
        if self._pause_requested.is_set():
            self._pause_requested.clear()
            return "paused"
        mode = self._mode
        if mode.command is Command.STEP:
            mode.steps_left -= 1
            if mode.steps_left <= 0:
                return "step"
        return self._condition_reason(event) or command_target_reached(event, self._mode)

    def _condition_reason(self, event: PhaseEvent) -> str | None:
        """The first stop condition that holds at ``event`` (each one sees every phase)."""
        for condition in self.conditions:
            try:
                reason = condition.check(event, self)
            except ConditionRefused as refused:
                self.set_conditions([c for c in self.conditions if c is not condition])
                return f"{REFUSED}{condition}: {refused}"
            if reason:
                return reason
        return None

    def _pause(self, event: PhaseEvent | None, reason: str, *, finished: bool = False) -> None:
        in_step, reason = self._bring_ranks(event, reason, finished=finished)
        while True:
            self.state = RunState.PAUSED
            snapshot = self.snapshot(finished=finished)
            self._judge_ranks(snapshot)
            self.last_snapshot = snapshot
            command, n = self.await_command(snapshot, reason)
            if command is not Command.BACK:
                break
            if self.look_back is None:
                # From the end, one back is the last phase itself, shown as a pause again.
                reason = self._rewind(event, max(n, 1) - finished)  # raises Rewind when it can go back
                continue
            outcome = self.look_back.browse(self, max(n, 1))
            if isinstance(outcome, str):
                reason = outcome
                continue
            command, n = outcome
            break
        if self.look_back is not None:
            self.look_back.remember(snapshot)
        self._ranks_resume(command.value, n, in_step=in_step)
        until = iteration_in_focus(event) + n if command is Command.RUN else None
        self._mode = Mode(command, event, until, steps_left=max(n, 1))
        self.state = RunState.RUNNING
        self._tell_source()

    def await_command(self, snapshot: Snapshot, reason: str) -> tuple[Command, int]:
        """Show ``snapshot`` and wait for the next command (settings sent meanwhile apply)."""
        if self.listener.on_pause:
            self.listener.on_pause(snapshot, reason)
        if self.controller is not None:
            answer = self.controller(snapshot, reason)
            command, n = answer if isinstance(answer, tuple) else (answer, 0)
        else:
            while True:
                command, n = self._commands.get()
                if command is not None:
                    break
                answer_question(*n)  # a question about this pause (an expression): the run stays here
        command = Command(command)
        self._apply_pending()
        if command is Command.QUIT or self._quit.is_set():
            if self.aligner is not None:
                self.aligner.ended()
            raise StopRun
        return command, n

    def snapshot(self, *, finished: bool = False) -> Snapshot:
        """Build a snapshot now. Call only from the training thread, or while it is paused."""
        return take_snapshot(self, finished=finished)

    def _safe_snapshot(self, *, finished: bool = False) -> Snapshot | None:
        try:
            return self.snapshot(finished=finished)
        except Exception:  # noqa: BLE001 - a broken model must not hide the original error
            return self.last_snapshot

    def _fail(self, exc: BaseException) -> None:
        self.error = TrainingError.of(exc, self.phase_running, self.last_event, self.phase_at)
        self.state = RunState.FAILED
        snapshot = self._safe_snapshot()
        if snapshot is not None:
            self.last_snapshot = snapshot
        if self.listener.on_error:
            self.listener.on_error(self.error, snapshot)

    def tensor_values(self, name: str) -> Any:
        """Full values of a tensor or parameter, for a viewer; valid while paused.

        None while looking back at an earlier pause: the live values would not be the ones shown.
        """
        if self.look_back is not None and self.look_back.active:
            return None
        return self.source.inspector.tensor_values(name)


__all__ = [
    "Command",
    "Listener",
    "Observer",
    "PhaseSource",
    "RunState",
    "Settings",
    "StopCondition",
    "StopRun",
    "Stepper",
    "TrainingError",
]
