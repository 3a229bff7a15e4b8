"""One way to name what to run, for every command and for ``loopstep.debug``.

A target is a built-in scenario (``linreg``), a script and its arguments (``train.py
--epochs 3``), a factory that returns a :class:`loopstep.Experiment` (``file.py:make`` or
``pkg.module:make``), or a recording (``run.lsr``). :func:`classify` tells which;
:func:`session_for` turns a target and the options into a Session, checking everything it
can before anything runs, so that bad input is one line (a :class:`TargetError`).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field, replace
from enum import Enum

from .engine.session import Session
from .engine.stepper import Settings

#: The app's pace for a built-in scenario, in iterations a second (your own code: as fast as it goes).
DEMO_PACE = 20.0


class TargetError(ValueError):
    """Bad input about what to run or how: one line for the user (exit status 2)."""


class Kind(str, Enum):
    SCENARIO = "scenario"
    SCRIPT = "script"
    FACTORY = "factory"
    RECORDING = "recording"


DESCRIBED = {
    Kind.SCENARIO: "a built-in scenario (linreg, mlp)",
    Kind.SCRIPT: "SCRIPT.py [ARGS]",
    Kind.FACTORY: "file.py:factory or module:factory",
    Kind.RECORDING: "a recording (PATH.lsr)",
}


@dataclass(frozen=True)
class Target:
    kind: Kind
    spec: str
    args: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How the status line and messages name it: the script's name, never its argv."""
        if self.kind is Kind.SCRIPT:
            return os.path.basename(self.spec)
        return self.spec


@dataclass
class RunOptions:
    """What the command line (or ``loopstep.debug``) says about how to run a target.

    None means "not given": a target kind that has no use for an option refuses it only
    when it was given.
    """

    backend: str | None = None
    seed: int | None = None
    epochs: int | None = None
    zero_grad: bool = True
    lr: float | None = None
    iterations: int | None = None
    breaks: list[str] = field(default_factory=list)
    watches: list[str] = field(default_factory=list)
    history: int | None = None
    history_mb: float | None = None
    record: str | None = None
    record_tensors: str = "small"
    #: This process's rank in a torchrun job and the job's world size (a recording says so).
    record_rank: tuple[int, int] | None = None
    #: Other recordings whose loss curves a replay draws beside its own (``--compare``).
    compare: list[str] = field(default_factory=list)
    #: ``demo --compare``: the scenario's NumPy and PyTorch loops side by side, in step.
    compare_backends: bool = False
    #: The app shows the forward ops and each pass's gradient; a text stream prints neither.
    detail: bool = True
    #: Build the first run now, so that its errors are one line before anything else starts
    #: (text mode). The app builds it after its first frame: torch takes seconds to load.
    build_now: bool = False


#: Options that only a built-in scenario takes (a script's own options follow the script).
SCENARIO_ONLY = ("backend", "seed", "epochs")


def is_recording(path: str) -> bool:
    from .engine.recording.format import MAGIC_PREFIX

    if path.endswith(".lsr"):
        return True
    try:
        with open(path, "rb") as handle:
            return handle.read(len(MAGIC_PREFIX)) == MAGIC_PREFIX
    except OSError:
        return False


def classify(spec: str, args: tuple[str, ...] | list[str] = ()) -> Target:
    """Which kind of target ``spec`` names. ``args`` are a script's arguments."""
    from .experiment import is_factory_spec
    from .scenarios import SCENARIOS

    if not spec:
        raise TargetError("loopstep: no target given")
    if is_factory_spec(spec):
        kind = Kind.FACTORY
    elif spec in SCENARIOS and not os.path.exists(spec):
        kind = Kind.SCENARIO
    elif is_recording(spec):
        kind = Kind.RECORDING
    elif spec.endswith(".py") or os.path.exists(spec):
        kind = Kind.SCRIPT
    else:
        raise TargetError(
            f"loopstep: unknown scenario {spec!r}; choose one of: {', '.join(SCENARIOS)}, "
            "or give SCRIPT.py, file.py:factory or module:factory"
        )
    if args and kind is not Kind.SCRIPT:
        raise TargetError(f"loopstep: arguments after {spec!r} are only for scripts: {' '.join(args)}")
    return Target(kind, spec, tuple(args))


def check_kind(target: Target, allowed: tuple[Kind, ...], command: str) -> None:
    if target.kind not in allowed:
        what = " or ".join(DESCRIBED[k] for k in allowed)
        raise TargetError(f"loopstep: {command} takes {what}, not {DESCRIBED[target.kind]} ({target.spec})")


def _refuse_options(target: Target, options: RunOptions, names: tuple[str, ...], why: str) -> None:
    given = [n for n in names if getattr(options, n) not in (None, [], False)]
    if given:
        flags = ", ".join("--" + n.replace("_", "-") for n in given)
        raise TargetError(f"loopstep: {flags}: {why}")


# ----- sessions ------------------------------------------------------------------------------------
def session_for(target: Target, options: RunOptions) -> Session:
    """The Session that runs ``target`` as ``options`` say; every problem is a TargetError."""
    if target.kind is Kind.SCENARIO:
        session = _scenario_session(target, options)
    else:
        _refuse_options(
            target,
            options,
            SCENARIO_ONLY,
            f"only for built-in scenarios; {DESCRIBED[target.kind]} sets its own"
            + (" (its options go after it)" if target.kind is Kind.SCRIPT else ""),
        )
        if target.kind is Kind.SCRIPT:
            session = _script_session(target, options)
        elif target.kind is Kind.FACTORY:
            session = _factory_session(target, options)
        else:
            session = _recording_session(target, options)
    return prepared(session, options)


def prepared(session: Session, options: RunOptions) -> Session:
    """Stop conditions, step-back history and recording, the same for every kind of target."""
    session.conditions = parse_breaks(options.breaks)
    session.watches = parse_watches(options.watches)
    if options.history is not None:
        session.history = options.history
    if options.history_mb is not None:
        session.history_mb = options.history_mb
    if options.record is not None:
        from .engine.recording import record_session

        check_writable(options.record)
        session = record_session(session, options.record, options.record_tensors, options.record_rank)
    return session


def parse_watches(texts: list[str]) -> tuple[str, ...]:
    """The watch expressions, or a usage error for one that is not an expression."""
    from .engine.watches import WatchError, check_watch

    try:
        return tuple(check_watch(text) for text in texts)
    except WatchError as exc:
        raise TargetError(f"loopstep: {exc}") from None


def parse_breaks(texts: list[str]) -> list:
    if not texts:
        return []  # nothing to parse: the parser and its probes stay unloaded
    from .engine.breakpoints import ConditionError, parse_conditions

    try:
        return parse_conditions(texts)
    except ConditionError as exc:
        raise TargetError(f"loopstep: --break {exc}") from None


def _settings(options: RunOptions) -> Settings:
    return Settings(zero_grad=options.zero_grad, lr=options.lr)


def _side_by_side(target: Target, options: RunOptions, session: Session) -> Session:
    """The NumPy loop, stepped by the front end, and the PyTorch one in step with it as a
    second rank (``R`` shows it): the same batches, the same numbers, phase by phase."""
    from .engine.ranks_in_step import SteppedRanks
    from .scenarios import SCENARIOS, scenario_session

    both = [name for name, one in SCENARIOS.items() if {"numpy", "torch"} <= set(one.backends)]
    if target.spec not in both or session.backend != "numpy":
        raise TargetError(
            f"loopstep: --compare runs a scenario's NumPy and PyTorch loops side by side: {', '.join(both)}"
            " (without --backend)"
        )
    _require_torch("--compare")

    def torch_loop() -> Session:
        made = scenario_session(
            target.spec, "torch", seed=options.seed or 0, lr=options.lr, epochs=options.epochs,
            zero_grad=options.zero_grad, max_iterations=options.iterations,
        )  # fmt: skip
        return replace(made, diagnose=False)

    return replace(
        session,
        title=f"{target.spec} (numpy | torch)",
        aligner=SteppedRanks({1: torch_loop}, 2, detail=True),
        rank_names=("numpy", "torch"),
        rank_code=(session.code_for, torch_loop().code_for),
        branches=False,  # a branch would run the NumPy loop alone
    )


def _require_torch(what: str) -> None:
    if importlib.util.find_spec("torch") is None:
        raise TargetError(f"loopstep: {what} needs PyTorch: pip install 'loopstep[torch]'")


def _scenario_session(target: Target, options: RunOptions) -> Session:
    from .scenarios import ScenarioError, build, scenario_session

    try:
        session = scenario_session(
            target.spec,
            options.backend,
            seed=options.seed or 0,
            lr=options.lr,
            epochs=options.epochs,
            zero_grad=options.zero_grad,
            max_iterations=options.iterations,
        )
    except ScenarioError as exc:
        raise TargetError(f"loopstep: {exc}") from None
    if session.backend == "torch":
        _require_torch("the torch backend")
    # A learner follows the run: linreg's 200 iterations play over 10 s (- / + change it).
    session = replace(session, pace=DEMO_PACE)
    if options.compare_backends:
        session = _side_by_side(target, options, session)
    if not options.build_now:
        return session
    try:
        first = [
            build(target.spec, options.backend, seed=options.seed or 0, lr=options.lr, epochs=options.epochs)
        ]
    except ScenarioError as exc:
        raise TargetError(f"loopstep: {exc}") from None
    fresh = session.make_source
    return replace(session, make_source=lambda: first.pop() if first else fresh())


def check_script(path: str) -> None:
    if not os.path.exists(path):
        raise TargetError(f"loopstep: no such file: {path}")
    if not os.path.isfile(path):
        raise TargetError(f"loopstep: not a file: {path}")
    try:
        with open(path, "rb") as handle:
            compile(handle.read(), path, "exec")
    except SyntaxError as exc:
        raise TargetError(f"loopstep: {path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except (OSError, ValueError) as exc:
        raise TargetError(f"loopstep: cannot read {path}: {exc}") from None


def _script_session(target: Target, options: RunOptions) -> Session:
    check_script(target.spec)
    _require_torch("running a script")
    from .backends.torch.intercept import script_session

    return script_session(
        target.spec,
        target.args,
        settings=_settings(options),
        max_iterations=options.iterations,
        detail=options.detail,
    )


def _factory_session(target: Target, options: RunOptions) -> Session:
    _require_torch("a factory's Experiment")
    from .experiment import ExperimentError, factory_session

    try:
        return factory_session(target.spec, settings=_settings(options), max_iterations=options.iterations)
    except ExperimentError as exc:
        raise TargetError(f"loopstep: {exc}") from None


def _recording_session(target: Target, options: RunOptions) -> Session:
    _refuse_options(
        target, options, ("lr", "record"), "a recording replays the run as it was; it cannot be changed"
    )
    if not options.zero_grad:
        raise TargetError(
            "loopstep: --no-zero-grad: a recording replays the run as it was; it cannot be changed"
        )
    from .engine.recording import replay_session
    from .engine.recording.ranks import replayed_job

    recording = open_recording(target.spec)
    session = replay_session(recording)
    # Rank 0 of a torchrun job, its other ranks' recordings beside it: every rank in step.
    session.aligner = replayed_job(target.spec, recording, open_recording)
    session.compared = tuple(_compared(options.compare))
    return session


def _compared(paths: list[str]):
    """Each recording's name (its file's, told apart when two share one) and training curve."""
    import os

    from .engine.history import training_curve

    names: set[str] = set()
    for path in paths:
        name = os.path.splitext(os.path.basename(path))[0]
        name = path if name in names else name
        names.add(name)
        yield name, training_curve(phase.event for phase in open_recording(path).phases)


def open_recording(path: str):
    """Read and check a recording, or fail with one line."""
    from .engine.recording import RecordingError, read_recording

    try:
        return read_recording(path)
    except RecordingError as exc:
        message = str(exc)
        raise TargetError(message if message.startswith("loopstep:") else f"loopstep: {message}") from None


def check_writable(path: str) -> None:
    """Fail now, with one line, if a recording cannot be written to ``path``."""
    if not path:
        raise TargetError("loopstep: --record needs a file name")
    if os.path.isdir(path):
        raise TargetError(f"loopstep: cannot record to {path}: it is a directory")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise TargetError(f"loopstep: cannot record to {path}: no such directory {parent}")
    try:
        with open(path, "ab"):
            pass
    except OSError as exc:
        raise TargetError(f"loopstep: cannot record to {path}: {exc.strerror or exc}") from None
