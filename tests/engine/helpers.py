"""Drive a stepper synchronously and collect what it paused at."""

from __future__ import annotations

from loopstep.engine import Command, Settings, Stepper
from loopstep.scenarios import build


def collect(loop, *, iterations=None, zero_grad=True, lr=None, command=Command.STEP):
    """Every snapshot of a run that pauses at each phase (like ``loopstep trace``)."""
    snaps = []

    def controller(snapshot, reason):
        snaps.append(snapshot)
        return command

    stepper = Stepper(
        loop,
        controller=controller,
        max_iterations=iterations,
        settings=Settings(zero_grad=zero_grad, lr=lr),
        pause_at_start=False,
    )
    stepper.run()
    assert stepper.error is None, stepper.error and stepper.error.traceback
    return snaps, stepper


def scenario(name="linreg", backend="numpy", **kw):
    return build(name, backend, **kw)
