"""The contracts of the engine, in one place: what the stepper asks of a source of phases,
of a stop condition and of an observer, what a loop loopstep owns asks of a backend, and
what the stepper offers the front ends (the Listener's callbacks).

Every source (a loop loopstep owns, an intercepted script, a recording, a recording being
written) implements :class:`PhaseSource` in full; the stepper never probes for optional
attributes. The probe's questions (for stop conditions and diagnostics) are in
:mod:`.probes`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from concurrent.futures import Future

    import numpy as np

    from .control import Settings
    from .expressions import FrameQuestion
    from .lockstep import RankPause
    from .phases import PhaseEvent
    from .probes import Probe
    from .snapshot import ParamState
    from .stepper import Stepper
    from .summary import TensorSummary
    from .trace import Trace
    from .training_frame import TrainingFrame


class Inspector(Protocol):
    """What a source must answer so the engine can build a snapshot or a recording frame.

    Every method is called in the training thread while it is paused (or, for the exports,
    by a recording at each phase), never from the UI thread.
    """

    #: Changes whenever the list of parameters does (a script's second model appeared): a
    #: recording then writes the new ones.
    @property
    def params_version(self) -> int: ...

    def model_mode(self) -> str: ...

    def grad_enabled(self) -> bool: ...

    def param_states(self, brief: bool = False) -> tuple[ParamState, ...]:
        """Every parameter, its ``.grad``, Δ and batch gradient; ``brief``: only the norms
        of the parameters and their ``.grad`` (and a small tensor's values) are needed,
        as a printed stream shows (``TensorSummary.brief``); a source may give more."""
        ...

    def tensors(self) -> dict[str, TensorSummary]: ...

    def trace(self) -> Trace: ...

    def tensor_values(self, name: str) -> np.ndarray | None: ...

    def export_arrays(self, names: Sequence[str], max_numel: int | None = None) -> dict[str, Any]:
        """Raw host copies (or views valid until the next phase) of the named tensors; a
        summary for one above ``max_numel`` elements; None for a ``.grad`` that is None."""
        ...

    def export_packed(self, names: Sequence[str], max_numel: int | None = None) -> Any:
        """All named parameters or grads as one block of bytes, ``"none"`` when every grad is
        None, or None when they cannot be packed (the recorder then exports them by name)."""
        ...


class PhaseSource(Protocol):
    """Something that runs training and reports its phases to a stepper."""

    #: How the status line names the run.
    name: str
    #: Whether the stepper may checkpoint and step back (the source can restore a checkpoint).
    supports_rewind: bool

    @property
    def inspector(self) -> Inspector: ...

    @property
    def probe(self) -> Probe | None:
        """The questions stop conditions and diagnostics ask; None when the source cannot
        answer them (yet: a script builds its model late; or ever: a recording)."""
        ...

    def run(self, stepper: Stepper) -> None:
        """Run to the end in the calling thread, calling ``stepper.at_start()`` first and
        ``stepper.at_phase(event)`` after every phase."""
        ...

    def apply_settings(self, settings: Settings) -> None:
        """Put the settings in force (zero_grad, lr); fill in ``settings.lr`` when unset."""
        ...

    def learning_rate(self) -> float | None:
        """The learning rate in force now, read at the phase (a script's scheduler or warm-up
        may have just set it); None when there is none to read."""
        ...

    def close(self) -> None:
        """Undo whatever the source installed (hooks, wrappers); safe to call twice."""
        ...

    def report_phases(self, wanted: bool, asleep_watch: frozenset[str] = frozenset()) -> None:
        """Whether the stepper needs to hear of every phase. Told False (nobody looks at the
        run, it continues, every stop condition can be watched asleep), a source may stop
        reporting and run at full speed, counting its iterations meanwhile, until told True
        again; then its next phase is reported with the right numbers. ``asleep_watch``: what
        the conditions still need seen while asleep (``"nonfinite"``: a NaN/Inf in the loss,
        the grads or the parameters wakes the source, which reports that phase;
        ``"last_phase"``: the run's last phase is shown, so a source asleep when the run
        ends reports it then, and goes quiet only where it can). Called from any thread; a
        source that always reports ignores it."""
        ...

    def training_frame(self, stepper: Stepper) -> TrainingFrame:
        """The names of the pause the training thread is in, for expressions and watches
        (called in the training thread, while paused); raises NoFrame where there is none."""
        ...


class Aligner(Protocol):
    """Rank 0's link to the other ranks of its job (see :mod:`.lockstep`); called in rank 0's
    training thread."""

    def align(self, seq: int) -> str | None:
        """Bring the other ranks to the pause at ``seq``; returns once they are all there,
        or found ahead of it (inside a collective rank 0 has still to reach), or stalled:
        the reason one of them stopped there for a condition of its own ("rank 1: break:
        nan"), else None."""
        ...

    def arrived(self, seq: int) -> bool:
        """Wait until every other rank with conditions of its own is at the phase ``seq``
        (or cannot be waited for): whether one of them stopped there for one of them."""
        ...

    def hold(self, seq: int) -> None:
        """Rank 0 pauses at a phase the others do not have (a validate phase): they stay
        where they are, at their next phase past ``seq``, until rank 0 goes on."""
        ...

    def resumed(self, command: str, n: int) -> None:
        """Rank 0 goes on with this command: so do the others."""
        ...

    def ended(self) -> None:
        """Rank 0's run is ending (quit): the others end too."""
        ...

    def passed(self, seq: int) -> None:
        """Rank 0 goes on past the phase ``seq`` (the others may follow it there)."""
        ...

    def others_at_pause(self) -> list[tuple[int, dict, str]]:
        """The other ranks in step at this pause: (rank, its JSONL record, its text line)."""
        ...

    def settings(self, at: int, *, zero_grad: bool | None = None, lr: float | None = None) -> None:
        """A setting changed at rank 0's pause ``at`` (its seq; any thread): the others change
        it too, to take effect at the same phase (zero_grad off on one rank only would part
        them)."""
        ...

    def ranks_at_pause(self) -> dict[int, RankPause]:
        """The other ranks in step at this pause: each one's snapshot and watches there."""
        ...

    def watch(self, expressions: Sequence[str]) -> None:
        """The front end's watch list (any thread): the other ranks evaluate it too, from
        the next pause on."""
        ...

    def ask_rank(self, rank: int, question: FrameQuestion) -> Future:
        """``question`` answered in the training frame of another rank in step at this pause
        (any thread; that rank's training thread answers it): the future holds what
        :func:`~.expressions.answer_in_frame` gave there, or the reason it could not."""
        ...

    @property
    def world_size(self) -> int: ...


class Gate(Protocol):
    """Another rank's view of rank 0's progress (see :mod:`.lockstep`): it goes past a phase
    only once rank 0 has, so a pause of rank 0 finds it there, not inside a later collective."""

    def may_pass(self, seq: int) -> bool:
        """Whether rank 0 went past the phase ``seq`` (or cannot be waited for)."""
        ...

    def arrive(self, seq: int, stopped: bool, armed: bool) -> None:
        """This rank is at the phase ``seq`` (stopped there for a condition of its own;
        ``armed``: it has conditions, so rank 0 waits for it at each phase)."""
        ...


class RankExchange(Protocol):
    """loopstep's own channel between the ranks of one job (never the user's process group):
    each rank shares small JSON values under a key, and one rank gathers every rank's."""

    rank: int
    world_size: int

    def share(self, key: str, value: object) -> None:
        """This rank's ``value`` for ``key`` (a later share replaces it)."""
        ...

    def gather(self, key: str, timeout: float) -> dict[int, object]:
        """Every rank's value for ``key`` (this rank's too), waiting at most ``timeout``
        seconds for the ranks that have not shared it yet; those are left out."""
        ...


class StopCondition(Protocol):
    """A breakpoint: the reason to pause at this phase, or None."""

    #: What a sleeping source must watch for this condition to fire as it would awake
    #: (``"nonfinite"``), or None: the condition needs every phase, and the source stays awake.
    asleep_watch: str | None

    def check(self, event: PhaseEvent, stepper: Stepper) -> str | None: ...

    def prepare(self, stepper: Stepper) -> None:
        """The condition is in force from now on: switch on what it needs (a watch)."""
        ...

    def disarm(self, stepper: Stepper) -> None:
        """The condition was removed: switch off what :meth:`prepare` switched on."""
        ...


class Observer(Protocol):
    """Sees every phase, paused at or not (diagnostics, progress); never pauses the run."""

    def observe(self, event: PhaseEvent, stepper: Stepper) -> None: ...

    def rewound(self, iteration: int, stepper: Stepper) -> None:
        """Step back went back to the start of ``iteration``: what came after did not happen."""
        ...


class TrainingBackend(Inspector, Protocol):
    """One model, its loss and its optimizer, run one phase at a time by a loop loopstep owns.

    ``detail`` asks for what only a pause needs (the forward ops, each pass's gradient, the
    parameters before the step); continue mode passes False and pays for none of it.
    """

    name: str
    probe: Probe

    def set_batch(self, x: Any, y: Any) -> None: ...

    def forward(self, *, detail: bool) -> None: ...

    def compute_loss(self, *, detail: bool) -> float: ...

    def backward(self, *, detail: bool) -> None: ...

    def step(self, *, detail: bool) -> None: ...

    def zero_grad(self) -> None: ...

    def validate(self, batches: Iterable[tuple[Any, Any]]) -> float: ...

    def set_lr(self, lr: float) -> None: ...

    def get_lr(self) -> float | None: ...

    def get_state(self) -> dict: ...

    def set_state(self, state: dict) -> None: ...

    def random_state(self) -> object:
        """The process-wide random state the training draws from (None: it draws from none)."""
        ...

    def set_random_state(self, state: object) -> None: ...

    def training_frame(self, position: dict[str, int]) -> TrainingFrame:
        """The loop's objects by the names its code pane uses (``model``, ``x``, ``loss``; the
        NumPy lesson's ``w``, ``b``, ``w_grad``), plus ``position`` (epoch, batch, iteration)."""
        ...
