"""The torch backend on a CUDA device (skipped where there is none)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from loopstep.backends.torch.stats import summarize_many
from loopstep.engine import Phase

from .helpers import collect, scenario

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def _on_cuda(loop):
    backend = loop.backend
    backend.model.cuda()
    backend.device = torch.device("cuda")
    return loop


def test_linreg_on_cuda_matches_cpu():
    _, cpu = collect(scenario("linreg", "torch", epochs=3), command="continue")
    _, gpu = collect(_on_cuda(scenario("linreg", "torch", epochs=3)), command="continue")
    a = np.array([p.loss for p in cpu.history.train])
    b = np.array([p.loss for p in gpu.history.train])
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_snapshots_of_a_cuda_model_summarise_on_the_device():
    snaps, _ = collect(_on_cuda(scenario("mlp", "torch", epochs=1)), iterations=2)
    backward = [s for s in snaps if s.event.phase is Phase.BACKWARD][-1]
    assert all(p.value.device.startswith("cuda") for p in backward.params)
    assert all(p.grad is not None and p.grad.finite for p in backward.params)
    assert backward.trace.graph is not None and backward.trace.ops


def test_mixed_devices_in_one_call():
    cpu, gpu = summarize_many([torch.ones(3), torch.full((4,), 2.0, device="cuda")])
    assert cpu.mean == 1.0 and gpu.mean == 2.0 and gpu.device.startswith("cuda")


def test_summaries_of_several_cuda_tensors_match_the_cpu():
    """Several tensors on the GPU are summarised together (segment reductions): same figures."""
    gen = torch.Generator().manual_seed(0)
    tensors = [
        torch.randn(1000, 300, generator=gen) * 2 + 1,
        torch.randn(50, dtype=torch.float64, generator=gen),
        torch.tensor([float("nan"), 1.0, float("inf")]),
        torch.zeros(4),
    ]
    cpu = summarize_many(tensors, keep=0)
    gpu = summarize_many([t.cuda() for t in tensors], keep=0)
    for a, b in zip(cpu, gpu):
        assert (a.nan, a.inf, a.zeros, a.shape) == (b.nan, b.inf, b.zeros, b.shape)
        if a.nan or a.inf:
            continue
        for field in ("norm", "mean", "std", "min", "max"):
            assert getattr(b, field) == pytest.approx(getattr(a, field), rel=1e-5, abs=1e-7), field
