"""A training loop that loopstep owns: the built-in scenarios, ``module:factory`` and
``loopstep.debug(...)``. It drives a backend phase by phase and reports each phase."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .control import TrainingInputError
from .phases import Phase, PhaseEvent
from .rewind import Checkpoint, Rewind
from .stepper import Settings

if TYPE_CHECKING:
    from .probes import Probe
    from .protocols import TrainingBackend
    from .stepper import Stepper
    from .training_frame import TrainingFrame


@dataclass
class BatchPlan:
    """Where the batches come from, in backend-native form.

    ``train(epoch)`` yields the epoch's (x, y) batches; it must give the same batches for
    the same epoch every time (the scenarios draw a seeded permutation per epoch).
    """

    train: Callable[[int], Iterable[tuple[Any, Any]]]
    epochs: int
    val: Callable[[], Iterable[tuple[Any, Any]]] | None = None
    batches_per_epoch: int | None = None


class OwnedLoop:
    """The five phases in the lesson's order, plus validate at each epoch's end."""

    #: The stepper may keep checkpoints and step back: this loop can restore them.
    supports_rewind = True

    def __init__(self, backend: TrainingBackend, plan: BatchPlan, name: str) -> None:
        self.backend = backend
        self.plan = plan
        self.name = name
        #: Where the run begins: None, the first batch; a checkpoint, its iteration (a
        #: what-if branch, see :mod:`.what_if`).
        self.start: Checkpoint | None = None

    def random_state(self) -> object:
        return self.backend.random_state()

    def set_random_state(self, state: object) -> None:
        self.backend.set_random_state(state)

    @property
    def inspector(self) -> TrainingBackend:
        return self.backend

    @property
    def probe(self) -> Probe:
        return self.backend.probe

    def learning_rate(self) -> float | None:
        return self.backend.get_lr()

    def report_phases(self, wanted: bool, asleep_watch: frozenset[str] = frozenset()) -> None:
        """A loop loopstep owns reports every phase: it costs no hooks to hear them."""

    def close(self) -> None:
        """The probe's watches (torch's global hooks, while a condition needed them) come off."""
        self.backend.probe.close()

    def training_frame(self, stepper: Stepper) -> TrainingFrame:
        event = stepper.last_event
        position = {"epoch": 0, "batch": 0, "iteration": 0}
        if event is not None:
            position = {"epoch": event.epoch, "batch": event.batch, "iteration": event.iteration}
        return self.backend.training_frame(position)

    def apply_settings(self, settings: Settings) -> None:
        if settings.lr is not None:
            self.backend.set_lr(settings.lr)
        else:
            settings.lr = self.backend.get_lr()

    def run(self, stepper: Stepper) -> None:
        stepper.at_start()
        start = self.start
        if start is not None:
            self.backend.set_state(start.state)
        while True:
            try:
                self._run_from(stepper, start)
                stepper.at_end()  # step back from the end raises Rewind here too
                return
            except Rewind as rewind:
                start = rewind.checkpoint
                self.backend.set_state(start.state)

    def _run_from(self, stepper: Stepper, start: Checkpoint | None) -> None:
        """Run to the end, from the beginning or from a checkpoint's iteration."""
        backend = self.backend
        plan = self.plan
        at_phase, entering = stepper.at_phase, stepper.entering
        iteration = start.iteration if start is not None else 0
        for epoch in range(start.epoch if start is not None else 0, plan.epochs):
            batches = list(plan.train(epoch)) if plan.batches_per_epoch is None else plan.train(epoch)
            last = (len(batches) - 1) if isinstance(batches, list) else (plan.batches_per_epoch or 0) - 1
            skip = start.batch if start is not None and epoch == start.epoch else 0
            for index, batch in enumerate(batches):
                if index < skip:
                    continue
                x, y = xy_pair(batch, index)
                if start is not None and iteration == start.iteration:
                    x, y = (
                        start.x,
                        start.y,
                    )  # the very batch that ran, even from a loader with its own randomness
                stepper.checkpoint(iteration, epoch, index, backend.get_state, x, y)
                detail = stepper.wants_detail
                entering(Phase.FORWARD)
                backend.set_batch(x, y)
                backend.forward(detail=detail)
                at_phase(PhaseEvent(Phase.FORWARD, epoch, index, iteration))
                entering(Phase.LOSS)
                loss = backend.compute_loss(detail=detail)
                at_phase(PhaseEvent(Phase.LOSS, epoch, index, iteration, loss=loss))
                entering(Phase.BACKWARD)
                backend.backward(detail=stepper.wants_detail)
                at_phase(PhaseEvent(Phase.BACKWARD, epoch, index, iteration, loss=loss))
                entering(Phase.STEP)
                backend.step(detail=stepper.wants_detail)
                at_phase(PhaseEvent(Phase.STEP, epoch, index, iteration, loss=loss))
                entering(Phase.ZERO_GRAD)
                skipped = not stepper.zero_grad_on
                if not skipped:
                    backend.zero_grad()
                at_phase(
                    PhaseEvent(
                        Phase.ZERO_GRAD,
                        epoch,
                        index,
                        iteration,
                        skipped=skipped,
                        loss=loss,
                        ends_epoch=index == last and plan.val is None,
                    )
                )
                iteration += 1
            if plan.val is not None:
                entering(Phase.VALIDATE)
                val_loss = backend.validate(plan.val())
                at_phase(PhaseEvent(Phase.VALIDATE, epoch, last, iteration - 1, loss=val_loss))


def xy_pair(batch: Any, index: int) -> tuple[Any, Any]:
    """A batch as (x, y), or an error that says what came instead."""
    try:
        x, y = batch
    except (TypeError, ValueError):
        kind = type(batch).__name__
        size = f" of {len(batch)}" if hasattr(batch, "__len__") else ""
        raise TrainingInputError(
            f"batch {index} is a {kind}{size}, not an (x, y) pair: the training data must give (inputs, targets)"
        ) from None
    return x, y
