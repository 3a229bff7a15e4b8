"""A user's training script as a source of phases: run as ``__main__``, intercepted."""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from ....engine.phases import PhaseEvent
from ....engine.session import CodeView, Session
from ....engine.snapshot import ParamState
from ....engine.stepper import Settings
from ....engine.summary import TensorSummary
from ....engine.trace import Trace
from ..probe import ScriptProbe
from .facts import RunFacts
from .frames import user_traceback
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
        self._initial_lr: float | None = None
        self._lr_seen: float | None = None
        self._settings: Settings | None = None
        self._empty_facts = RunFacts()
        #: What stop conditions and diagnostics ask about the script's model (made on first need).
        self.probe = ScriptProbe(self)

    # ----- PhaseSource -----------------------------------------------------------------------
    @property
    def inspector(self) -> ScriptSource:
        return self

    @property
    def facts(self) -> RunFacts:
        return self.tracker.facts if self.tracker is not None else self._empty_facts

    def run(self, stepper) -> None:
        self.tracker = PhaseTracker(stepper, detail=self.detail)
        self.tracker.on_new_optimizer = self._optimizer_appeared
        if self._initial_lr is not None:
            self.tracker.set_lr(self._initial_lr)
            self._lr_seen = self._initial_lr
        self.interceptor = Interceptor(self.tracker)
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
            self.tracker.finish()

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

    def close(self) -> None:
        """Remove the hooks now (they are also removed when the script ends)."""
        if self.interceptor is not None:
            self.interceptor.remove()

    # ----- Inspector: the model the latest phase was about ------------------------------------------
    def _watch(self):
        return self.tracker.shown if self.tracker is not None else None

    def model_mode(self) -> str:
        watch = self._watch()
        return watch.model_mode() if watch is not None else "train"

    def grad_enabled(self) -> bool:
        watch = self._watch()
        return watch.grad_enabled() if watch is not None else True

    def param_states(self) -> tuple[ParamState, ...]:
        watch = self._watch()
        return watch.param_states() if watch is not None else ()

    def tensors(self) -> dict[str, TensorSummary]:
        watch = self._watch()
        return watch.tensors() if watch is not None else {}

    def trace(self) -> Trace:
        watch = self._watch()
        return watch.trace() if watch is not None else Trace()

    def tensor_values(self, name: str) -> np.ndarray | None:
        watch = self._watch()
        return watch.tensor_values(name) if watch is not None else None

    def export_arrays(self, names: Sequence[str], max_numel: int | None = None) -> dict:
        watch = self._watch()
        return watch.export_arrays(names, max_numel) if watch is not None else {}

    def export_packed(self, names: Sequence[str], max_numel: int | None = None) -> bytes | str | None:
        watch = self._watch()
        return watch.export_packed(names, max_numel) if watch is not None else None


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
