"""Without zero_grad, .grad is the sum of every pass since the last reset — on both backends."""

from __future__ import annotations

import numpy as np
import pytest

from loopstep.engine import Phase

from .helpers import collect, scenario


def _hand_gradient(w, b, x, y):
    diff = w * x + b - y
    return np.array([2 * np.mean(diff * x), 2 * np.mean(diff)])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_grad_is_sum_of_batch_gradients_when_zero_grad_is_off(backend):
    loop = scenario("linreg", backend)
    batches = []
    snaps = []

    from loopstep.engine import Command, Settings, Stepper

    def controller(snapshot, reason):
        snaps.append(snapshot)
        if snapshot.event.phase is Phase.FORWARD:
            # weights used by this batch's forward and the batch itself
            w, b = (float(p.value.preview[0]) for p in snapshot.params)
            x = stepper.tensor_values("x")
            y = stepper.tensor_values("y")
            batches.append(_hand_gradient(w, b, x, y))
        return Command.STEP

    stepper = Stepper(
        loop,
        controller=controller,
        max_iterations=5,
        settings=Settings(zero_grad=False),
        pause_at_start=False,
    )
    stepper.run()
    assert stepper.error is None
    backward = [s for s in snaps if s.event.phase is Phase.BACKWARD]
    assert len(backward) == 5
    for k, snap in enumerate(backward, start=1):
        stored = np.array([p.grad.preview[0] for p in snap.params])
        expected = np.sum(batches[:k], axis=0)
        np.testing.assert_allclose(stored, expected, rtol=1e-9, atol=1e-9)
        this_pass = np.array([p.batch_grad.preview[0] for p in snap.params])
        np.testing.assert_allclose(this_pass, batches[k - 1], rtol=1e-9, atol=1e-9)
        assert all(p.grad_passes == k for p in snap.params)
    skipped = [s for s in snaps if s.event.phase is Phase.ZERO_GRAD]
    assert all(s.event.skipped for s in skipped)


def test_zero_grad_off_makes_linreg_blow_up_with_default_settings():
    _, on = collect(scenario("linreg", "numpy"), command="continue")
    _, off = collect(scenario("linreg", "numpy"), zero_grad=False, command="continue")
    on_losses = [p.loss for p in on.history.train]
    off_losses = [p.loss for p in off.history.train]
    assert on_losses[-1] < on_losses[0] / 100
    worst = max(off_losses)
    assert not np.isfinite(worst) or worst > 10 * off_losses[0]
    assert off_losses[-1] > 100 * on_losses[-1]
