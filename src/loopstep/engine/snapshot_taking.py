"""Taking a snapshot: what every pane shows at a pause, read from the source's inspector and
the stepper's history in one go (only from the training thread, or while it is paused)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .phases import Phase
from .snapshot import Snapshot

if TYPE_CHECKING:
    from .stepper import Stepper


def take_snapshot(stepper: Stepper, *, finished: bool = False) -> Snapshot:
    inspector = stepper.source.inspector
    brief = stepper.brief_snapshots
    # A brief snapshot (a printed stream's) leaves out what a stream never prints: the
    # curves, copied whole at each phase (but the last validation loss), and the batch's tensors.
    losses, val_losses = ((), tuple(stepper.history.val[-1:])) if brief else stepper.history.frozen()
    extra: dict = {}
    if stepper.history.original is not None:
        extra["original_losses"] = tuple(stepper.history.original)
    if stepper.rewind_notice:
        extra["rewind_notice"] = stepper.rewind_notice
    event = stepper.last_event
    probe = stepper.source.probe
    if event is not None and event.phase is Phase.VALIDATE and probe is not None:
        # What eval() switches (the explain line names it): "4 (Dropout)", "1 (BatchNorm1d)".
        extra["mode_layers"] = probe.mode_layers()
    params = tuple(
        replace(p, grad_passes=stepper.grad_passes if p.grad is not None else 0)
        if p.grad_passes is None
        else p
        for p in inspector.param_states(brief)
    )
    held = [p.grad_passes for p in params if p.grad is not None]
    return Snapshot(
        event=stepper.last_event,
        model_mode=inspector.model_mode(),
        grad_enabled=inspector.grad_enabled(),
        params=params,
        tensors={} if brief else inspector.tensors(),
        trace=inspector.trace(),
        losses=losses,
        val_losses=val_losses,
        zero_grad_on=stepper.settings.zero_grad,
        lr=_learning_rate(stepper),
        grad_passes=max(held) if held else 0,
        source=stepper.source.name,
        finished=finished,
        extra=extra,
        previous_loss=_previous_loss(stepper),
        phase_order=stepper.phase_order.phases,
        metrics={} if brief else stepper.metrics.frozen(),
    )


def _previous_loss(stepper: Stepper) -> float | None:
    event = stepper.last_event
    if event is None or event.phase is not Phase.LOSS:
        return None
    return stepper.history.previous_batch_loss(event.detail)


def _learning_rate(stepper: Stepper) -> float | None:
    """The lr the source has in force now (not the one the last pause saw)."""
    lr = stepper.source.learning_rate()
    return stepper.settings.lr if lr is None else lr
