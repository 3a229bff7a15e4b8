"""Writing a recording while a run goes on.

:class:`RecordingSource` wraps any phase source. Its training thread sees a stepper that
records each phase before handing it on, so recordings work the same for scenarios,
``module:factory`` and intercepted scripts, and in every mode (step, continue, ...).

Per phase it keeps only what that phase changed, as raw values copied in one go (forward
→ x, y, pred; backward → the grads; step → the parameters; zero_grad → the grads again),
and it hands one frame per iteration to the writer process (``sink.py``). Statistics are
computed at replay time, where they cost nothing to the run. Tensors above the size policy
are kept as summaries instead (computed on the device, one sync). At each pause the trace
the user saw is added as well.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..control import InternalError, Settings, StopRun
from ..phases import Phase, PhaseEvent
from ..summary import TensorSummary
from .encode import EventText, RefText, json_text, packed_text
from .format import MAGIC, VERSION, PayloadBuilder, created_stamp, frame_buffers, header_text, limit_for
from .sink import start_sink
from .sink_main import LINE_EXTRA, write_all
from .traces import trace_to_json

if TYPE_CHECKING:
    from ..protocols import Inspector

#: The tensors a forward changes, besides the model's state; and those validate ran on.
_BATCH_NAMES = ("x", "y", "pred")
_VAL_NAMES = ("x_val", "y_val", "pred_val")
# Enum members read from the class cost a lookup each time: these are read at every phase.
_CLIP, _UPDATE = Phase.CLIP, Phase.UPDATE
_FORWARD, _BACKWARD, _STEP, _ZERO_GRAD, _VALIDATE = (
    Phase.FORWARD,
    Phase.BACKWARD,
    Phase.STEP,
    Phase.ZERO_GRAD,
    Phase.VALIDATE,
)


def captured_arrays(inspector: Inspector, names: Sequence[str], max_numel: int | None, zeros: bool) -> dict:
    """The named tensors as the recorder keeps them (see :func:`_capture`)."""
    return {name: _capture(value, zeros) for name, value in inspector.export_arrays(names, max_numel).items()}


def _capture(value: Any, zeros: bool) -> Any:
    """What the training thread keeps of an exported value: its bytes, copied now."""
    if type(value) is np.ndarray and not zeros:  # the common case, at every forward
        return ("b", value.dtype, value.shape, value.tobytes())
    if value is None or isinstance(value, TensorSummary):
        return value
    value = np.asarray(value)
    if zeros and value.size and not value.any():
        return ("z", value.dtype, value.shape)
    return ("b", value.dtype, value.shape, value.tobytes())


class Recorder:
    """Appends frames to one file, from the training thread.

    Each phase copies only what it changed (raw bytes); at the end of each iteration the
    phases become one frame, handed to the writer process (see ``sink.py``), or written
    here with one system call where that process cannot run. (A writer thread was tried:
    its queue and GIL hand-offs cost more CPU than the JSON and the write it took over.)
    """

    def __init__(self, path: str, policy: str, meta: dict) -> None:
        self.path = path
        self.policy = policy
        self.limit = limit_for(policy)
        self.meta = meta
        # Unbuffered: each frame is one write() straight to the file, nothing held back.
        self.file = open(path, "wb", buffering=0)  # noqa: SIM115 - closed by close()
        self.file.write(MAGIC)
        self.sink = start_sink(self.file.fileno())
        self.pending: list[tuple] = []
        self.traces: list[list] = []
        self.events_queued = 0
        self.param_names: list[str] = []
        self.layouts: dict[str, tuple] = {}
        self.grad_names: list[str] = []
        self._params_version = -1
        self.closed = False
        self.started = False
        self.write_error: OSError | None = None
        self.thread_id = threading.get_ident()
        self._mode: tuple[str, bool] | None = None
        self._settings: tuple[bool, float | None] | None = None
        self.bytes_written = len(MAGIC)
        self._text = EventText()
        self._refs = RefText(self.layouts)

    # ----- the training thread ------------------------------------------------------------------
    def start(self, inspector: Any) -> None:
        """Queue the header: called at the run's first pause or phase, when the model exists."""
        if self.started:
            return
        self.started = True
        header = dict(
            self.meta,
            k="start",
            version=VERSION,
            policy=self.policy,
            created=created_stamp(),
        )
        header["params"], captured = self._find_params(inspector)
        self._emit(("start", header, captured))

    def _find_params(self, inspector: Any) -> tuple[list, dict]:
        """The parameters not listed yet and their values now (none at first: a script builds
        its models later, and may add one after another)."""
        self._params_version = inspector.params_version if inspector is not None else -1
        try:
            params = inspector.param_states() if inspector is not None else ()
        except Exception:  # noqa: BLE001 - a model not built yet has no parameters to list
            params = ()
        known = set(self.param_names)
        added = [p for p in params if p.name not in known]
        if not added:
            return [], {}
        # New lists (not appended to): packed blocks are built per list.
        self.param_names = self.param_names + [p.name for p in added]
        for p in added:
            layout = (p.dtype, tuple(p.shape))
            self.layouts[p.name] = self.layouts[p.name + ".grad"] = layout
        self.grad_names = [name + ".grad" for name in self.param_names]
        self._refs = RefText(self.layouts)  # its cached texts assumed the layouts known before
        names = [p.name for p in added] + [p.name + ".grad" for p in added]
        captured = captured_arrays(inspector, names, self.limit, False)
        listed = [[p.name, list(p.shape), p.dtype, p.requires_grad] for p in added]
        return listed, captured

    def phase(self, event: PhaseEvent, inspector: Any, settings: Settings, lr: float | None = None) -> None:
        phase = event.phase
        if inspector.params_version != self._params_version:
            listed, captured = self._find_params(inspector)
            if listed:  # a model appeared (an intercepted script built it): say so
                self.flush()
                self._emit(("params", {"k": "params", "params": listed}, captured))
        mode_change = None
        # Asked at every phase: a script's model.train() after validate shows at its next
        # phase, whichever it is, and a replay must show it there too.
        mode = (inspector.model_mode(), inspector.grad_enabled())
        if mode != self._mode:
            mode_change = self._mode = mode
        current = (settings.zero_grad, settings.lr if lr is None else lr)
        if current == self._settings:
            settings_change = None
        else:
            settings_change = self._settings = current
        # What each phase changed: the batch at forward, the grads or the parameters as one
        # packed block where the inspector can pack them, otherwise name by name.
        captured = packed = None
        if phase is _FORWARD:
            captured = captured_arrays(inspector, _BATCH_NAMES, self.limit, False)
        elif phase is _VALIDATE:
            captured = captured_arrays(inspector, _VAL_NAMES, self.limit, False)
        elif (
            phase is _BACKWARD
            or phase is _STEP
            or phase is _CLIP
            or phase is _UPDATE
            or (phase is _ZERO_GRAD and not event.skipped)
        ):
            # The grads change at backward, clip and zero_grad; the parameters at step and at an
            # update made by hand.
            names = self.param_names if phase is _STEP or phase is _UPDATE else self.grad_names
            if names:
                zeros = phase is _ZERO_GRAD
                packed = self._packed(inspector, names, zeros)
                if packed is None:
                    captured = captured_arrays(inspector, names, self.limit, zeros)
        if event.inside and phase is not _STEP and self.param_names:
            # Inside a step (an LBFGS closure): the optimizer moves the parameters between its
            # evaluations, so each of their phases keeps them too.
            moved = captured_arrays(inspector, self.param_names, self.limit, False)
            captured = moved if captured is None else {**captured, **moved}
        self.pending.append((event, mode_change, settings_change, captured, packed))
        if phase is _ZERO_GRAD or phase is _VALIDATE:
            self.flush()

    def _packed(self, inspector: Any, names: list[str], zeros: bool) -> tuple[str, Any] | None:
        """All parameters or all grads as one block of bytes, when the inspector can pack them.

        Returns ``(key, value)``: key ``"P"`` (parameters) or ``"G"`` (grads), value the bytes,
        ``"none"`` (every grad is None) or ``"z"`` (every grad is zero). None: record name by name.
        """
        value = inspector.export_packed(names, self.limit)
        if value is None:
            return None
        if zeros and not isinstance(value, str) and not np.frombuffer(value, np.uint8).any():
            value = "z"
        return ("G" if names is self.grad_names else "P"), value

    def paused(self, index: int, snapshot: Any) -> None:
        """The user saw this snapshot: keep its trace (the only part not rebuilt at replay)."""
        if snapshot.trace is not None and not snapshot.trace.empty:
            self.traces.append([index, trace_to_json(snapshot.trace)])

    def flush(self) -> None:
        """Write the phases so far as one frame."""
        if not self.pending and not self.traces:
            return
        item = ("events", self.events_queued, self.pending, self.traces)
        self.events_queued += len(self.pending)
        self.pending = []
        self.traces = []
        self._emit(item)

    def close(self, reason: str, error: str = "") -> None:
        """Write what is left and an end frame, and close the file."""
        if self.closed:
            return
        self.closed = True
        try:
            self.start(None)
            self.flush()
            end: dict[str, Any] = {"k": "end", "reason": reason, "events": self.events_queued}
            if error:
                end["error"] = error
            self._emit(("end", end))
        finally:
            try:
                if self.sink is not None:
                    self.sink.close()  # every frame handed over is written first
            except OSError as exc:
                self.write_error = self.write_error or exc
            try:
                self.file.close()
            except OSError as exc:
                self.write_error = self.write_error or exc

    # ----- frames -------------------------------------------------------------------------------
    def _emit(self, item: tuple) -> None:
        if self.write_error is not None:
            return  # a full disk: the file keeps its whole frames; the run goes on
        try:
            self._write(*self._frame(item))
        except OSError as exc:
            self.write_error = exc

    def _frame(self, item: tuple) -> tuple[Any, PayloadBuilder]:
        """The frame's header (a dict, or for phases the JSON text without its closing brace)."""
        payload = PayloadBuilder()
        kind = item[0]
        if kind in ("start", "params"):
            _, header, captured = item
            header["a"] = {name: payload.ref(v, self.layouts.get(name)) for name, v in captured.items()}
            return header, payload
        if kind == "end":
            return item[1], payload
        _, first, pending, traces = item
        refs_text = self._refs.text
        record = self._text.record
        records = []
        for event, mode, settings, captured, packed in pending:
            extra = ""
            if captured is not None:
                extra = refs_text(captured, payload)
            if packed is not None:
                extra += packed_text(packed[0], packed[1], payload)
            records.append(record(event, mode, settings, extra))
        text = f'{{"k":"events","first":{first:d},"ev":[{",".join(records)}]'
        if traces:
            text += ',"tr":' + json_text(traces)
        return text, payload

    def _write(self, header: Any, payload: PayloadBuilder) -> None:
        if self.sink is not None:
            text = header_text(header, payload.size)
            self.sink.put(text, payload.parts, payload.size)
            self.bytes_written += len(text) + LINE_EXTRA + payload.size
            return
        buffers, size = frame_buffers(header, payload.parts, payload.size)
        write_all(self.file.fileno(), buffers)
        self.bytes_written += size


class _RecordingStepper:
    """The stepper as the wrapped source sees it: records each phase, then hands it on."""

    def __init__(self, stepper: Any, recorder: Recorder, source: Any) -> None:
        self._stepper = stepper
        self._recorder = recorder
        self._source = source
        self._index = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stepper, name)

    # Read at every phase: plain properties skip the slower __getattr__ fallback.
    @property
    def wants_detail(self) -> bool:
        return self._stepper.wants_detail

    @property
    def zero_grad_on(self) -> bool:
        return self._stepper.zero_grad_on

    def at_start(self) -> None:
        self._recorder.start(self._source.inspector)
        self._stepper.at_start()

    def at_phase(self, event: PhaseEvent) -> None:
        recorder = self._recorder
        stepper = self._stepper
        limit = stepper.max_iterations
        if limit is not None and event.iteration >= limit:
            raise StopRun  # the stepper would refuse this phase: it must not be recorded either
        inspector = self._source.inspector
        if not recorder.started:
            recorder.start(inspector)
        try:
            lr = self._source.learning_rate()  # read at the phase: a scheduler may have just set it
            recorder.phase(event, inspector, stepper.settings, lr)
        except Exception as exc:
            # The recording failed inside the training code's call: loopstep's error, not the user's.
            raise InternalError(exc).with_traceback(exc.__traceback__) from exc
        index = self._index
        self._index += 1
        before = stepper.last_snapshot
        stepper.at_phase(event)
        after = stepper.last_snapshot
        if after is not before and after is not None and after.event is event:
            recorder.paused(index, after)
            if event.phase is _ZERO_GRAD or event.phase is _VALIDATE:
                recorder.flush()


class RecordingSource:
    """A phase source that records everything its inner source reports."""

    def __init__(self, inner: Any, path: str, policy: str = "small", meta: dict | None = None) -> None:
        self.inner = inner
        self.path = path
        self.policy = policy
        self.meta = dict(meta or {})
        self.recorder: Recorder | None = None

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def supports_rewind(self) -> bool:
        # Step back works on a recorded run too; the phases it runs again are recorded again.
        return self.inner.supports_rewind

    @property
    def probe(self) -> Any:
        return self.inner.probe

    def learning_rate(self) -> float | None:
        return self.inner.learning_rate()

    def close(self) -> None:
        self.inner.close()

    def report_phases(self, wanted: bool, asleep_watch: frozenset[str] = frozenset()) -> None:
        """A recording needs every phase: its source keeps reporting them all."""

    def training_frame(self, stepper: Any) -> Any:
        return self.inner.training_frame(stepper)

    @property
    def inspector(self) -> Any:
        return self.inner.inspector

    def apply_settings(self, settings: Settings) -> None:
        self.inner.apply_settings(settings)

    def run(self, stepper: Any) -> None:
        meta = dict(self.meta, source=self.inner.name)
        meta.setdefault("settings", [bool(stepper.settings.zero_grad), stepper.settings.lr])
        recorder = Recorder(self.path, self.policy, meta)
        self.recorder = recorder
        try:
            self.inner.run(_RecordingStepper(stepper, recorder, self.inner))
        except StopRun:
            recorder.close(stepper.quit_reason)  # "quit", or the signal that ended the run
            raise
        except KeyboardInterrupt:
            recorder.close("interrupted")
            raise
        except BaseException as exc:
            recorder.close("error", f"{type(exc).__name__}: {exc}")
            raise
        recorder.close("finished")
