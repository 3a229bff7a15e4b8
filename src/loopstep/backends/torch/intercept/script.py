"""A user's training script as a source of phases: run as ``__main__``, intercepted."""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from ....engine.phases import Phase, PhaseEvent
from ....engine.probes import ForwardFacts, UnusedForward
from ....engine.session import CodeView, Session
from ....engine.snapshot import ParamState
from ....engine.stepper import Settings
from ....engine.summary import TensorSummary
from ....engine.trace import Trace
from ....engine.training_frame import NoFrame, TrainingFrame
from ..frame import describe, expand, fingerprint, frame_write_back, same_random_numbers
from ..probe import TorchProbe
from .facts import RunFacts
from .frames import assigned_call, assigned_name, is_user_file, user_traceback
from .hooks import Interceptor
from .tracker import PhaseTracker

#: Files longer than this are shown as a window of WINDOW lines each side of the phase's line.
WHOLE_FILE_LINES = 1500
WINDOW = 300


@contextmanager
def script_environment(path: str, argv: Sequence[str]) -> Iterator[None]:
    """What ``python SCRIPT ARGS`` gives a script: its argv, and its folder first on sys.path."""
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [path, *argv]
    sys.path.insert(0, os.path.dirname(path))
    try:
        yield
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path


class ScriptProbe(TorchProbe):
    """The probe over a script's models, as they appear; its forwards are judged by the
    tracker's facts (a backward's graph reached them or not)."""

    def __init__(self, source: ScriptSource) -> None:
        tracker = source.tracker
        super().__init__(
            tracker.models,
            lambda: [m.module for m in tracker.models.models],
            tracker.models.live_optimizers,
        )
        self.tracker = tracker

    def forward_facts(self) -> ForwardFacts | None:
        forwards = self.tracker.facts.forwards
        if not forwards:
            return None
        last = forwards[-1]
        return ForwardFacts(training=last.training, builds_graph=last.builds_graph)

    def stale_grads(self) -> list[str] | None:
        return self.tracker.stale_at_step

    def _stepped_ids(self, optimizer: str) -> set[int] | None:
        """ids of the parameters the optimizer of that name steps; None: every parameter."""
        models = self.tracker.models
        if not optimizer:
            return None
        for tracked in models.optimizers:
            if models.optimizer_series(tracked.optimizer) == optimizer:
                return {id(p) for group in tracked.optimizer.param_groups for p in group["params"]}
        return None

    def stepped_grad_norms(self, optimizer: str) -> dict[str, float]:
        ids = self._stepped_ids(optimizer)
        norms = self.grad_norms()
        if ids is None:
            return norms
        return {
            name: norm for name, p in self.named if id(p) in ids and (norm := norms.get(name)) is not None
        }

    def missing_grads(self, optimizer: str) -> tuple[str, ...]:
        ids = self._stepped_ids(optimizer)
        return tuple(
            name
            for name, p in self.named
            if p.requires_grad and p.grad is None and (ids is None or id(p) in ids)
        )

    def loader_findings(self) -> list:
        return self.tracker.loader_checks.take()

    def unused_forwards(self) -> list[UnusedForward]:
        return [
            UnusedForward(f.training, f.builds_graph, f.iteration, f.location)
            for f in self.tracker.facts.take_unused()
        ]


class ScriptSource:
    """Runs the script in the calling thread and reports the phases its calls make.

    ``facts`` (a RunFacts) and ``tracker`` stay readable after the run, for checks that
    look at how the script trained.
    """

    #: A script's loop cannot be re-run from a checkpoint: step back looks back instead.
    supports_rewind = False

    def __init__(self, path: str, argv: Sequence[str] = (), *, detail: bool = True) -> None:
        self.path = os.path.abspath(path)
        self.argv = list(argv)
        self.name = os.path.relpath(self.path) if not path.startswith("/") else path
        self.detail = detail
        self.tracker: PhaseTracker | None = None
        self.interceptor: Interceptor | None = None
        self._probe: ScriptProbe | None = None
        self._initial_lr: float | None = None
        self._lr_seen: float | None = None
        self._settings: Settings | None = None
        self._empty_facts = RunFacts()
        self._report_wanted: tuple[bool, frozenset[str]] = (True, frozenset())

    # ----- PhaseSource -----------------------------------------------------------------------
    @property
    def inspector(self) -> ScriptSource:
        return self

    @property
    def probe(self) -> ScriptProbe | None:
        """What stop conditions and diagnostics ask about the script's models (once it runs)."""
        return self._probe

    @property
    def facts(self) -> RunFacts:
        return self.tracker.facts if self.tracker is not None else self._empty_facts

    def run(self, stepper) -> None:
        self.tracker = PhaseTracker(stepper, detail=self.detail)
        self.tracker.on_new_optimizer = self._optimizer_appeared
        self._probe = ScriptProbe(self)
        if self._initial_lr is not None:
            self.tracker.set_lr(self._initial_lr)
            self._lr_seen = self._initial_lr
        self.interceptor = Interceptor(self.tracker)
        self.interceptor.report_phases(*self._report_wanted)
        self.interceptor.on_sleep = self._probe.suspend_watches  # its hooks sleep too
        try:
            with self.interceptor, script_environment(self.path, self.argv):
                stepper.at_start()
                try:
                    runpy.run_path(self.path, run_name="__main__")
                except SystemExit as exc:
                    if exc.code not in (None, 0):
                        raise
                except Exception as exc:
                    # Start the traceback at the user's code, not at runpy.
                    raise exc.with_traceback(user_traceback(exc.__traceback__))  # noqa: B904
                self.interceptor.report_last_phase()
                self.tracker.finish()
        finally:
            self._probe.close()  # its watches' hooks go with the run
            self.tracker.close()

    def _optimizer_appeared(self, optimizer) -> None:
        """Show the script's learning rate as soon as its first optimizer exists."""
        settings = self._settings
        if settings is not None and settings.lr is None and optimizer.param_groups:
            settings.lr = self._lr_seen = float(optimizer.param_groups[0]["lr"])

    def apply_settings(self, settings: Settings) -> None:
        self._settings = settings
        tracker = self.tracker
        if tracker is None:
            self._initial_lr = settings.lr
            return
        if settings.lr is not None and settings.lr != self._lr_seen:
            tracker.set_lr(settings.lr)
        else:
            current = tracker.current_lr()  # a scheduler may have changed it
            if current is not None:
                settings.lr = current
        self._lr_seen = settings.lr

    def learning_rate(self) -> float | None:
        return self.tracker.current_lr() if self.tracker is not None else None

    def close(self) -> None:
        """Remove the hooks now (they are also removed when the script ends)."""
        if self.interceptor is not None:
            self.interceptor.remove()
        if self._probe is not None:
            self._probe.close()
        if self.tracker is not None:
            self.tracker.close()

    def report_phases(self, wanted: bool, asleep_watch: frozenset[str] = frozenset()) -> None:
        """Not wanted: the interceptor sleeps at its next safe point (:mod:`.intercept.sleeping`)."""
        self._report_wanted = (wanted, asleep_watch)
        if self.interceptor is not None:
            self.interceptor.report_phases(wanted, asleep_watch)

    def training_frame(self, stepper) -> TrainingFrame:
        """The user's own frame the training thread is paused in: the innermost frame of the
        script's code on the stack (``train()`` at the line of ``loss.backward()``)."""
        frame = paused_frame(stepper)
        if frame is None or self.tracker is None:
            raise NoFrame("the script's own code is not running now (it has returned)")
        tracker, interceptor = self.tracker, self.interceptor
        name = frame.f_code.co_name
        where = "the script's top level" if name == "<module>" else f"{name}()"
        where += f" at {os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"

        @contextmanager
        def quiet() -> Iterator[None]:
            was = interceptor.active
            interceptor.active = False  # a model(x) typed at the prompt is not a forward of the run
            try:
                with same_random_numbers():
                    yield
            finally:
                interceptor.active = was

        names = dict(frame.f_locals)
        event = stepper.last_event
        location = event.location if event is not None else None
        if location is not None and (location.path, location.line) == (
            frame.f_code.co_filename,
            frame.f_lineno,
        ):
            # Paused inside the call on this line: the name it assigns gets the phase's value.
            target = assigned_name(location)
            value = None
            if event.phase is Phase.LOSS:
                value = tracker.loss_tensor
            elif event.phase is Phase.FORWARD and _calls_the_model(location, tracker.forward_name):
                value = tracker.forward_output  # `pred = model(x)`, not `loss = criterion(model(x), y)`
            if target and value is not None:
                names[target] = value
        return TrainingFrame(
            names=names,
            globals=frame.f_globals,
            where=where,
            describe=describe,
            expand=expand,
            quiet=quiet,
            fingerprint=lambda: fingerprint(
                [m.module for m in tracker.models.models], tracker.models.live_optimizers(), names.values()
            ),
            write_back=frame_write_back(frame),
        )

    # ----- Inspector: every model of the run -------------------------------------------------------
    @property
    def params_version(self) -> int:
        return self.tracker.watch.params_version if self.tracker is not None else 0

    def model_mode(self) -> str:
        return self.tracker.watch.model_mode() if self.tracker is not None else "train"

    def grad_enabled(self) -> bool:
        return self.tracker.watch.grad_enabled() if self.tracker is not None else True

    def param_states(self, brief: bool = False) -> tuple[ParamState, ...]:
        return self.tracker.watch.param_states(brief) if self.tracker is not None else ()

    def tensors(self) -> dict[str, TensorSummary]:
        return self.tracker.watch.tensors() if self.tracker is not None else {}

    def trace(self) -> Trace:
        return self.tracker.watch.trace() if self.tracker is not None else Trace()

    def tensor_values(self, name: str) -> np.ndarray | None:
        return self.tracker.watch.tensor_values(name) if self.tracker is not None else None

    def export_arrays(self, names: Sequence[str], max_numel: int | None = None) -> dict:
        return self.tracker.watch.export_arrays(names, max_numel) if self.tracker is not None else {}

    def export_packed(self, names: Sequence[str], max_numel: int | None = None) -> bytes | str | None:
        return self.tracker.watch.export_packed(names, max_numel) if self.tracker is not None else None


def _calls_the_model(location, model_name: str) -> bool:
    callee = assigned_call(location)
    return bool(model_name) and (callee == model_name or callee.endswith("." + model_name))


def paused_frame(stepper):
    """The innermost frame of the user's code outside the stepper's pause: the one whose call
    reported the phase (a controller's own frames, inside the pause, do not count)."""
    entries = {type(stepper).at_phase.__code__, type(stepper).at_start.__code__}
    frame = sys._getframe(1)
    while frame is not None and frame.f_code not in entries:
        frame = frame.f_back
    while frame is not None and not is_user_file(frame.f_code.co_filename):
        frame = frame.f_back
    return frame


def script_code(default_path: str):
    """The code pane's view: the user's own file around the line where the phase happened."""
    texts: dict[str, list[str]] = {}

    def lines_of(path: str) -> list[str]:
        if path not in texts:
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    texts[path] = handle.read().splitlines()
            except OSError:
                texts[path] = []
        return texts[path]

    def code_for(event: PhaseEvent | None, settings: Settings | None = None) -> CodeView:
        """The user's own file: the settings change what runs, not the text shown."""
        location = event.location if event is not None else None
        path = location.path if location is not None else default_path
        line = location.line if location is not None else 0
        lines = lines_of(path)
        first = 1
        if len(lines) > WHOLE_FILE_LINES:
            first = max(1, line - WINDOW)
            lines = lines[first - 1 : first - 1 + 2 * WINDOW]
        return CodeView(text="\n".join(lines), path=path, line=line, first_line=first)

    return code_for


def script_session(
    path: str,
    argv: Sequence[str] = (),
    *,
    settings: Settings | None = None,
    max_iterations: int | None = None,
    detail: bool = True,
) -> Session:
    """A Session that runs the script afresh each time a stepper is made (restart included)."""
    title = os.path.basename(path)  # the script's name: its arguments would push the state off screen
    return Session(
        title=title,
        make_source=lambda: ScriptSource(path, argv, detail=detail),
        settings=settings or Settings(),
        code_for=script_code(os.path.abspath(path)),
        max_iterations=max_iterations,
        backend="torch",
    )
