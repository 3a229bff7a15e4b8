"""Loss history of a run: appended by the training thread, read by anyone.

Three records, because "the loss" means three things in a real script:

- ``batches``: every loss phase's value, as the script computed it (conditions such as
  ``loss>3x_median`` and the diagnostics' trends compare like with like: a series per loss name).
- ``train``: the training curve, one point per iteration and optimizer. Its value is the loss
  the step descended: the sum of what ``.backward()`` was called on since that optimizer's
  previous step (with accumulation over k micro-batches of ``loss / k``, their mean; a GAN's
  discriminator, ``errD_real + errD_fake``). Until the step, the iteration's point is the mean of
  its loss phases so far (provisional), so the chart moves at the loss phase as the lesson shows;
  a run that steps several optimizers draws only their steps.
- ``val``: one point per validate phase with a loss, named after its pass ("val", "test").

Each change is a single list operation (an append, or replacing the last item), so a reader in
another thread (the UI's refresh timer) always sees a consistent list without a lock.
"""

from __future__ import annotations

from collections.abc import Iterable

from .phases import Phase, PhaseEvent
from .snapshot import LossPoint


class LossHistory:
    def __init__(self) -> None:
        self.train: list[LossPoint] = []
        self.val: list[LossPoint] = []
        self.batches: list[LossPoint] = []
        #: The training curve as it was before the first step back (kept for what-if, until restart).
        self.original: list[LossPoint] | None = None
        self._provisional: list[float] = []  # the loss phases of the iteration in flight
        self._several = False  # some step named its optimizer: no provisional points

    def add(self, event: PhaseEvent) -> None:
        """Take what ``event`` says about the loss (other phases are ignored)."""
        loss = event.loss
        if loss is None:
            return
        phase = event.phase
        if phase is Phase.LOSS:
            self.batches.append(LossPoint(event.iteration, event.epoch, loss, event.detail))
            if not self._several:
                self._add_provisional(event.iteration, event.epoch, loss)
        elif phase is Phase.STEP or phase is Phase.UPDATE:
            if event.series:
                self._several = True
            point = LossPoint(event.iteration, event.epoch, loss, event.series)
            if self._provisional:
                self.train[-1] = point
                self._provisional = []
            else:
                self.train.append(point)
        elif phase is Phase.VALIDATE:
            self.val.append(LossPoint(event.iteration, event.epoch, loss, event.series))

    def _add_provisional(self, iteration: int, epoch: int, loss: float) -> None:
        if self._provisional and self.train and self.train[-1].iteration != iteration:
            self._provisional = []  # the last iteration never stepped: its point stays as it is
        self._provisional.append(loss)
        point = LossPoint(iteration, epoch, sum(self._provisional) / len(self._provisional))
        if len(self._provisional) > 1:
            self.train[-1] = point
        else:
            self.train.append(point)

    def frozen(self) -> tuple[tuple[LossPoint, ...], tuple[LossPoint, ...]]:
        return tuple(self.train), tuple(self.val)

    def previous_batch_loss(self, name: str) -> float | None:
        """The loss phase before the last one that computed the loss called ``name``."""
        seen = False
        for point in reversed(self.batches):
            if point.series == name:
                if seen:
                    return point.loss
                seen = True
        return None

    def keep_original(self) -> None:
        if self.original is None:
            self.original = list(self.train)

    def truncate(self, iteration: int) -> None:
        """Forget losses from ``iteration`` on (after a rewind)."""
        self.train = [p for p in self.train if p.iteration < iteration]
        self.val = [p for p in self.val if p.iteration < iteration]
        self.batches = [p for p in self.batches if p.iteration < iteration]
        self._provisional = []


def training_curve(events: Iterable[PhaseEvent]) -> tuple[LossPoint, ...]:
    """The training loss curve a run of these events draws (a recording's, for ``replay
    --compare``): each event goes through the history as it would live."""
    history = LossHistory()
    for event in events:
        history.add(event)
    return history.frozen()[0]
