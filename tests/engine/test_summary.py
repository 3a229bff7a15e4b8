"""Tensor summaries agree between the NumPy and torch paths, and flag NaN, Inf and all-zeros."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from loopstep.backends.torch.stats import summarize_many
from loopstep.engine.summary import summarize_array
from loopstep.engine.tensor_line import tensor_line


@pytest.mark.parametrize("shape", [(1,), (7,), (32, 3), (200, 300)])
def test_torch_and_numpy_summaries_agree(shape):
    data = np.random.default_rng(1).normal(3.0, 2.0, size=shape)
    a = summarize_array(data)
    b = summarize_many([torch.from_numpy(data)])[0]
    for field in ("norm", "mean", "std", "min", "max"):
        assert getattr(b, field) == pytest.approx(getattr(a, field), rel=1e-9, abs=1e-12), field
    assert a.shape == b.shape == shape
    assert a.nan == b.nan == 0 and not a.zeros and not b.zeros


def test_nonfinite_values_are_counted():
    t = torch.tensor([1.0, float("nan"), float("inf"), float("-inf"), float("nan")])
    s = summarize_many([t])[0]
    assert (s.nan, s.inf) == (2, 2)
    assert "2 NaN!" in tensor_line(s) and "2 Inf!" in tensor_line(s)
    a = summarize_array(t.numpy())
    assert (a.nan, a.inf) == (2, 2)


def test_zeros_none_and_previews():
    zero, missing, big = summarize_many([torch.zeros(3, 3), None, torch.arange(10000.0)])
    assert zero.zeros and "all zeros" in tensor_line(zero)
    assert missing is None
    assert big.preview.size == 4096 and big.values() is None
    assert big.max == 9999.0 and not big.is_small
    assert zero.values().shape == (3, 3)


def test_small_cpu_tensors_summarized_together_give_each_its_own_figures(monkeypatch):
    """The small tensors of the CPU go through one fused pass: each one's figures are those
    it gets summarized alone, in every dtype a model has, NaN and Inf among them."""
    from loopstep.backends.torch import stats

    gen = torch.Generator().manual_seed(3)
    tensors = [
        torch.randn(32, 16, generator=gen),
        torch.randn(7, dtype=torch.float64, generator=gen) * 1e6,
        torch.tensor(2.5),
        torch.arange(12).reshape(3, 4),
        torch.tensor([True, False, True]),
        torch.randn(5, generator=gen).to(torch.bfloat16),
        torch.randn(4, dtype=torch.complex64, generator=gen),
        torch.tensor([1.0, float("nan"), float("inf")]),
        torch.tensor([float("inf"), -float("inf"), 2.0]),  # inf - inf: numpy's "invalid value"
        torch.zeros(2, 2),
        torch.zeros(0),
        None,
        torch.randn(5000, generator=gen),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NaN and Inf pass quietly, as through torch
        together = stats.summarize_many(tensors)
    monkeypatch.setattr(stats, "FUSED_NUMEL", 0)  # every tensor by itself, on its device
    alone = stats.summarize_many(tensors)
    for t, a, b in zip(tensors, alone, together):
        if t is None:
            assert a is None and b is None
            continue
        assert (b.shape, b.dtype, b.nan, b.inf, b.zeros) == (a.shape, a.dtype, a.nan, a.inf, a.zeros)
        for field in ("norm", "mean", "std", "min", "max"):
            x, y = getattr(a, field), getattr(b, field)
            assert (np.isnan(x) and np.isnan(y)) or y == pytest.approx(x, rel=1e-5, abs=1e-6), (t, field)
        np.testing.assert_allclose(b.preview, a.preview, rtol=1e-6, equal_nan=True)
    assert together[7].nan == 1 and together[7].inf == 1
