"""Replaying a recording through the normal stepper.

:class:`ReplaySource` is a phase source like any other: it reports the recorded phases in
order, and its inspector answers from the recording. So step, next, epoch, continue, stop
conditions, the loss history and the panes all work on a replay exactly as on a live run,
and summaries (which the run did not pay for) are computed here, only at pauses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..phases import Phase, PhaseEvent
from ..rewind import Rewind
from ..session import CodeView, Session, phase_lines
from ..snapshot import ParamState
from ..stepper import Settings
from ..summary import TensorSummary, summarize_array
from ..trace import Trace
from .reader import Recording

if TYPE_CHECKING:
    from ..training_frame import TrainingFrame


class RecordedFailure(Exception):
    """The recorded run failed here; replay ends the same way."""


def _summary(value: Any) -> TensorSummary | None:
    if value is None or isinstance(value, TensorSummary):
        return value
    return summarize_array(value)


def _changed(before: Any, now: Any) -> bool:
    """Whether a recorded tensor differs from the one before (None, a summary, values)."""
    if before is None or now is None:
        return before is not now
    if isinstance(before, np.ndarray) and isinstance(now, np.ndarray):
        return before.shape != now.shape or not np.array_equal(before, now, equal_nan=True)
    return before != now


def _added(now: Any, before: Any) -> Any:
    """What a backward added to a .grad: the new values minus the old (all of them, from None)."""
    if isinstance(now, np.ndarray) and isinstance(before, np.ndarray) and now.shape == before.shape:
        with np.errstate(all="ignore"):
            return now.astype(np.float64) - before.astype(np.float64)
    return now


def _difference(now: Any, before: Any) -> TensorSummary | None:
    if isinstance(now, np.ndarray) and isinstance(before, np.ndarray) and now.shape == before.shape:
        with np.errstate(all="ignore"):
            return summarize_array(now.astype(np.float64) - before.astype(np.float64))
    return None


class ReplayInspector:
    """Answers the stepper's questions from the recorded state at the current phase."""

    #: The recording's parameter list is read whole before the replay starts.
    params_version = 0

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.params = recording.params
        self.state: dict[str, Any] = dict(recording.initial)
        self.mode: tuple[str, bool] = ("train", True)
        self.index = -1
        self.loss: float | None = None
        self.batch_grads: dict[str, Any] = {}  # name -> what the last backward added to .grad
        self._batch: tuple | None = None
        self.params_before_step: dict[str, Any] = {}
        #: The parameters the phase shown (a step or an update) moved.
        self.moved: set[str] = set()
        #: Inside a step (its closure's phases): the parameters as they were when it began.
        self._step_start: dict[str, Any] | None = None
        #: Backward passes each parameter's .grad holds, counted from the recorded grads.
        self.passes: dict[str, int] = {}
        #: The phase shown is a validate: its tensors are the ones validate ran on.
        self.validating = False
        self.ended = False

    def advance(self, index: int, recorded: Any) -> None:
        event: PhaseEvent = recorded.event
        phase = event.phase
        self.validating = phase is Phase.VALIDATE
        self.moved = set()
        arrays = recorded.arrays
        if event.inside and phase is not Phase.STEP and self._step_start is None:
            # The step's closure starts: the values its Δ is taken from are the ones before it.
            self._step_start = {name: self.state.get(name) for name, *_ in self.params}
        if phase is Phase.FORWARD:
            self.loss = None
            self.state.pop("pred", None)
            key = (event.epoch, event.batch, event.iteration)
            if key != self._batch:  # a new batch: what the last one's backward added is not its
                self._batch = key
                self.batch_grads = {}
        elif phase is Phase.BACKWARD:
            # "This batch": what this backward added, for the grads it changed (as live).
            batch = {}
            for name, *_ in self.params:
                key = name + ".grad"
                if key in arrays and _changed(self.state.get(key), arrays[key]):
                    batch[name] = _added(arrays[key], self.state.get(key))
                    self.passes[name] = self.passes.get(name, 0) + 1
            self.batch_grads = batch
        elif phase is Phase.STEP or phase is Phase.UPDATE:
            # "Δ last step" of each parameter this step moved; the others keep theirs.
            start, self._step_start = self._step_start, None
            for name, *_ in self.params:
                before = self.state.get(name) if start is None else start.get(name)
                if name in arrays and _changed(before, arrays[name]):
                    self.params_before_step[name] = before
                    self.moved.add(name)
        elif phase is Phase.ZERO_GRAD and not event.skipped:
            for name, *_ in self.params:
                key = name + ".grad"
                if key in arrays and _changed(self.state.get(key), arrays[key]):
                    self.passes.pop(name, None)
        if phase is Phase.LOSS and event.loss is not None:
            self.loss = event.loss
        self.state.update(arrays)
        if recorded.mode is not None:
            self.mode = recorded.mode
        self.index = index

    def save(self) -> dict:
        return {
            "state": dict(self.state),
            "mode": self.mode,
            "loss": self.loss,
            "batch_grads": self.batch_grads,
            "batch": self._batch,
            "params_before_step": dict(self.params_before_step),
            "passes": dict(self.passes),
            "moved": set(self.moved),
            "step_start": None if self._step_start is None else dict(self._step_start),
        }

    def restore(self, saved: dict) -> None:
        self.state = dict(saved["state"])
        self.mode = saved["mode"]
        self.loss = saved["loss"]
        self.batch_grads = saved["batch_grads"]
        self._batch = saved["batch"]
        self.params_before_step = dict(saved["params_before_step"])
        self.passes = dict(saved.get("passes", {}))
        self.moved = set(saved.get("moved", ()))
        start = saved.get("step_start")
        self._step_start = None if start is None else dict(start)
        self.validating = False

    # ----- the Inspector protocol --------------------------------------------------------------
    def model_mode(self) -> str:
        return self.mode[0]

    def grad_enabled(self) -> bool:
        return self.mode[1]

    def param_states(self, brief: bool = False) -> tuple[ParamState, ...]:
        """Full summaries, brief or not: they are read from the recording."""
        out = []
        known = self.recording.params_known_at(max(self.index, 0))
        for name, shape, dtype, requires_grad in self.params[:known]:
            value = _summary(self.state.get(name))
            if value is None:
                continue
            grad = self.state.get(name + ".grad")
            change = None
            if name in self.params_before_step:
                change = _difference(self.state.get(name), self.params_before_step[name])
            added = self.batch_grads.get(name)
            batch_grad = None if added is None else _summary(added)
            out.append(
                ParamState(
                    name=name,
                    shape=shape,
                    dtype=dtype,
                    value=value,
                    grad=_summary(grad),
                    change=change,
                    batch_grad=batch_grad,
                    grad_passes=self.passes.get(name, 0) if grad is not None else 0,
                    requires_grad=requires_grad,
                    moved=(name in self.moved) if self._at_step() else None,
                )
            )
        return tuple(out)

    def _at_step(self) -> bool:
        if self.index < 0:
            return False
        return self.recording.phases[self.index].event.phase in (Phase.STEP, Phase.UPDATE)

    def tensors(self) -> dict[str, TensorSummary]:
        if self.validating:
            out = {
                n: s for n in ("x_val", "y_val", "pred_val") if (s := _summary(self.state.get(n))) is not None
            }
            loss = self.recording.phases[self.index].event.loss
            if loss is not None:
                out["val_loss"] = summarize_array(np.array(loss))
            return out
        out = {}
        for name in ("x", "y", "pred"):
            summary = _summary(self.state.get(name))
            if summary is not None:
                out[name] = summary
        if self.loss is not None:
            out["loss"] = summarize_array(np.array(self.loss))
        return out

    def trace(self) -> Trace:
        notes: tuple[str, ...] = ()
        if self.ended:
            notes = (self.recording.stop_note(),)
        recorded = self.recording.traces.get(self.index)
        if recorded is not None:
            return Trace(
                recorded.ops, recorded.graph, recorded.formulas, recorded.ops_recorded, recorded.notes + notes
            )
        return Trace(ops_recorded=False, notes=("the run did not pause here, so no trace was kept",) + notes)

    def tensor_values(self, name: str) -> np.ndarray | None:
        if name == "loss" and self.loss is not None:
            return np.array(self.loss)
        value = self.state.get(name)
        return np.array(value, copy=True) if isinstance(value, np.ndarray) else None

    def export_packed(self, names: Any, max_numel: int | None = None) -> None:
        return None  # re-recording a replay goes name by name

    def export_arrays(self, names: Any, max_numel: int | None = None) -> dict:
        out: dict = {}
        for name in names:
            if name not in self.state:
                continue
            value = self.state[name]
            if isinstance(value, np.ndarray) and max_numel is not None and value.size > max_numel:
                value = summarize_array(value, keep=0)
            out[name] = value
        return out


class ReplaySource:
    """Reports a recording's phases to a stepper, in order; it can step back to any of them."""

    supports_rewind = True
    #: A recording cannot answer the probe's questions about a live model.
    probe = None

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.name = str(recording.header.get("source", "recording"))
        self.inspector = ReplayInspector(recording)
        settings = recording.header.get("settings") or [True, None]
        self._settings = (bool(settings[0]), settings[1])

    def apply_settings(self, settings: Settings) -> None:
        # A recording cannot be changed: the settings shown are the ones the run had.
        settings.zero_grad, settings.lr = self._settings

    def learning_rate(self) -> float | None:
        return self._settings[1]  # as recorded at the phase being replayed

    def close(self) -> None:
        """Nothing to undo: the recording was only read."""

    def report_phases(self, wanted: bool, asleep_watch: frozenset[str] = frozenset()) -> None:
        """A replay reads every phase it shows from the file."""

    def training_frame(self, stepper: Any) -> TrainingFrame:
        """What the recording holds at this phase, as NumPy arrays (or, where only summaries
        were recorded, as those): ``x``, ``y``, ``pred``, ``loss``, ``params``/``grads`` by
        name, and each parameter whose name is a plain identifier (``w``, ``b``)."""
        from .frame import recorded_frame

        return recorded_frame(self.inspector, stepper.last_event, self._settings[1])

    def run(self, stepper: Any) -> None:
        stepper.at_start()
        start = 0
        while True:
            try:
                self._run_from(stepper, start)
                self.inspector.ended = True  # the last pause says how the recording ends
                stepper.at_end()  # step back from the end raises Rewind here too
                break
            except Rewind as rewind:  # step back: restore the recorded state and go on from there
                saved = rewind.checkpoint.state
                start = saved["index"]
                self._settings = saved["settings"]
                self.inspector.restore(saved)
                self.inspector.ended = False
        end = self.recording.end
        if end is not None and end.get("reason") == "error":
            raise RecordedFailure(end.get("error") or "the recorded run failed")

    def _run_from(self, stepper: Any, start: int) -> None:
        inspector = self.inspector
        at_phase = stepper.at_phase
        phases = self.recording.phases
        for index in range(start, len(phases)):
            recorded = phases[index]
            event = recorded.event
            if event.phase is Phase.FORWARD:
                stepper.checkpoint(
                    event.iteration,
                    event.epoch,
                    event.batch,
                    lambda index=index: self._saved(index),
                    None,
                    None,
                )
            if recorded.settings is not None and recorded.settings != self._settings:
                self._settings = recorded.settings
                stepper.change_settings(zero_grad=recorded.settings[0], lr=recorded.settings[1])
            inspector.advance(index, recorded)
            at_phase(event)

    def _saved(self, index: int) -> dict:
        """Everything a step back to phase ``index`` restores: references, no copies."""
        return dict(self.inspector.save(), index=index, settings=self._settings)


def replay_session(recording: Recording) -> Session:
    """A Session over a recording: the app, text mode and export all take it."""
    header = recording.header
    settings = header.get("settings") or [True, None]
    code = header.get("code")
    code_for = None
    if isinstance(code, dict) and isinstance(code.get("text"), str):
        code_for = _recorded_code(str(code["text"]), str(code.get("path", "")))
    title = str(header.get("title") or header.get("source") or "recording")
    rank = header.get("rank")
    if isinstance(rank, int) and rank > 0:  # one rank of a job, replayed alone
        title += f" (rank {rank} of {header.get('world_size', '?')})"
    return Session(
        title=f"replay · {title}",
        make_source=lambda: ReplaySource(recording),
        settings=Settings(bool(settings[0]), settings[1] if isinstance(settings[1], (int, float)) else None),
        code_for=code_for,
        backend=str(header.get("backend", "")),
        scenario=str(header.get("scenario", "")),
    )


def _recorded_code(text: str, path: str):
    lines = phase_lines(text)

    def code_for(event: PhaseEvent | None, settings: Settings | None = None) -> CodeView:
        """The code as recorded: a replay's settings are the recorded run's own."""
        if event is None:
            return CodeView(text=text, path=path)
        if event.location is not None and event.location.path == path:
            return CodeView(text=text, path=path, line=event.location.line)
        return CodeView(text=text, path=path, line=lines.get(event.phase, 0))

    return code_for
