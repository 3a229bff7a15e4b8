"""The NumPy backend shows what it actually did, at the phase it did it.

Each test drives the engine directly and pauses at every phase. The numbers on screen are
checked against the arithmetic they claim (the trace's formulas), and the mode in the status
line against the mode the phase ran in — on both backends where both can answer.
"""

from __future__ import annotations

import pytest

from loopstep.backends.numpy_backend import NumpyLinReg
from loopstep.engine import Command, Phase, Stepper
from loopstep.engine.probes import probe_of
from loopstep.engine.snapshot import Snapshot
from loopstep.scenarios import build


def run(backend: str = "numpy", *, pauses: int = 60, act=None, **build_kw) -> tuple[list[Snapshot], Stepper]:
    """Pause at every phase for ``pauses`` pauses; ``act(stepper, snap)`` may change settings."""
    snaps: list[Snapshot] = []

    def controller(snap: Snapshot, why: str) -> Command:
        if snap.event is not None:
            snaps.append(snap)
            if act is not None:
                act(stepper, snap)
        return Command.STEP if len(snaps) < pauses else Command.QUIT

    stepper = Stepper(build("linreg", backend, **build_kw), controller=controller)
    stepper.run()
    assert stepper.error is None, stepper.error and stepper.error.traceback
    return snaps, stepper


# ----- the mode each phase ran in ---------------------------------------------------------------
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_validate_pause_shows_eval_and_no_grad_and_training_phases_train_and_grad(backend):
    snaps, _ = run(backend, pauses=80)  # 8 batches per epoch: validate is the 41st pause
    validate = [s for s in snaps if s.event.phase is Phase.VALIDATE]
    assert validate, "the run reached no validate pause"
    for snap in validate:
        assert (snap.model_mode, snap.grad_enabled) == ("eval", False)
    training = [s for s in snaps if s.event.phase is not Phase.VALIDATE]
    assert {(s.model_mode, s.grad_enabled) for s in training} == {("train", True)}


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_forward_facts_tell_how_the_last_forward_ran(backend):
    facts: dict[Phase, set] = {}

    def look(stepper: Stepper, snap: Snapshot) -> None:
        answer = probe_of(stepper.source).forward_facts()
        facts.setdefault(snap.event.phase, set()).add(answer.training)

    run(backend, pauses=50, act=look)
    assert facts[Phase.VALIDATE] == {False}  # the validate forward ran in eval mode
    assert facts[Phase.FORWARD] == facts[Phase.STEP] == {True}


def test_numpy_forward_facts_are_none_before_any_forward():
    """As torch's: nothing has run forward yet, so there is nothing to tell."""
    assert NumpyLinReg(-0.5, 0.0, 0.1).probe.forward_facts() is None
