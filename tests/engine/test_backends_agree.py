"""linreg tells the same story on both backends, and the defaults reach w = 2, b = 1."""

from __future__ import annotations

import numpy as np
import pytest

from .helpers import collect, scenario


def _losses(backend, **kw):
    _, stepper = collect(scenario("linreg", backend, **kw), command="continue")
    return np.array([p.loss for p in stepper.history.train]), stepper


def test_numpy_and_torch_losses_agree_for_200_iterations():
    numpy_losses, _ = _losses("numpy")
    torch_losses, _ = _losses("torch")
    assert len(numpy_losses) == len(torch_losses) == 200
    np.testing.assert_allclose(numpy_losses, torch_losses, rtol=0, atol=1e-10)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_default_run_reaches_the_true_line(backend):
    _, stepper = _losses(backend)
    w, b = (float(p.value.preview[0]) for p in stepper.source.inspector.param_states())
    assert abs(w - 2) < 0.05 and abs(b - 1) < 0.05


def test_same_seed_same_run_other_seed_other_run():
    a, _ = _losses("torch", seed=3)
    b, _ = _losses("torch", seed=3)
    c, _ = _losses("torch", seed=4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_mlp_is_deterministic_and_learns():
    a, sa = _losses_mlp()
    b, _ = _losses_mlp()
    assert np.array_equal(a, b)
    val = [p.loss for p in sa.history.val]
    assert val[-1] < val[0]


def _losses_mlp():
    _, stepper = collect(scenario("mlp", "torch", epochs=3), command="continue")
    return np.array([p.loss for p in stepper.history.train]), stepper
