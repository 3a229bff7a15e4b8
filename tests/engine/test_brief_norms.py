"""Brief summaries (a printed stream's) say what the full ones say about norm, NaN, Inf, zeros
and a small tensor's values, for every kind of tensor, and follow in-place changes between
calls."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from loopstep.backends.torch.norms import NormReader
from loopstep.backends.torch.stats import summarize_many
from loopstep.engine.summary import SMALL_NUMEL, TensorSummary


def _agree(brief: TensorSummary, full: TensorSummary) -> None:
    assert not full.brief  # a brief one may be full (an empty or sparse tensor's is)
    assert (brief.shape, brief.dtype, brief.nan, brief.inf, brief.zeros) == (
        full.shape,
        full.dtype,
        full.nan,
        full.inf,
        full.zeros,
    )
    if math.isnan(full.norm):
        assert math.isnan(brief.norm)
    else:
        assert brief.norm == pytest.approx(full.norm, rel=1e-6, abs=1e-30)
    if full.numel <= SMALL_NUMEL:
        np.testing.assert_array_equal(brief.values(), full.values())
    else:
        assert brief.preview is None


def _kinds() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    base = torch.randn(8, 9, generator=g)
    return [
        torch.randn(32, 16, generator=g),
        torch.randn(5, generator=g, dtype=torch.float64),
        torch.randn(7, generator=g).half(),
        torch.randn(6, generator=g).to(torch.bfloat16),  # no NumPy view: torch's fused norm
        torch.randn(5000, generator=g),  # past the fused size: torch's norm
        base.t(),  # not contiguous
        base[:, ::2],
        torch.zeros(4),
        torch.empty(0),
        torch.tensor([1.0, float("nan"), float("inf")]),
        torch.tensor([float("inf"), -2.0]),
        torch.arange(6),  # integers
        torch.tensor(2.5),  # 0-d
        torch.nn.Parameter(torch.randn(3, 3, generator=g)),
        torch.eye(3).to_sparse(),
    ]


def test_every_kind_of_tensor_agrees_with_its_full_summary():
    tensors = [*_kinds(), None]
    reader = NormReader()
    for _ in range(2):  # the second call reads through the views it kept
        brief = reader.summaries(tensors)
        full = summarize_many(tensors)
        assert brief[-1] is None and full[-1] is None
        for b, f in zip(brief[:-1], full[:-1]):
            _agree(b, f)


def test_a_brief_summary_is_the_dataclass_its_fields_say():
    brief = NormReader().summaries([torch.randn(3)])[0]
    fields = {f.name: getattr(brief, f.name) for f in dataclasses.fields(TensorSummary)}
    rebuilt = TensorSummary(**fields)
    assert repr(rebuilt) == repr(brief) and math.isnan(brief.mean)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(["add", "neg", "swap", "nan", "grad", "resize", "none"]), min_size=1, max_size=12
    ),
    st.integers(0, 2**16),
)
def test_in_place_changes_between_calls_are_seen(changes, seed):
    torch.manual_seed(seed)
    params = [
        torch.nn.Parameter(torch.randn(4, 3)),
        torch.nn.Parameter(torch.randn(3)),
        torch.nn.Parameter(torch.randn(80)),
    ]
    reader = NormReader()
    for change in changes:
        p = params[seed % len(params)]
        seed = seed * 31 + 7
        if change == "add":
            p.data.add_(0.5)  # unseen by p's version counter
        elif change == "neg":
            p.data.neg_()  # the same norm
        elif change == "swap":
            p.data = torch.randn_like(p)  # a new storage
        elif change == "nan":
            p.data.view(-1)[0] = float("nan")
        elif change == "grad":
            p.grad = torch.randn_like(p) if p.grad is None else None
        elif change == "resize":
            p.data = p.data.reshape(-1) if p.dim() > 1 else p.data
        tensors = [*params, *(q.grad for q in params)]
        for b, f in zip(reader.summaries(tensors), summarize_many(tensors)):
            if f is None:
                assert b is None
            else:
                _agree(b, f)
        # The NaN watch's check, through the same kept views: it sees every change too.
        present = [t for t in tensors if t is not None]
        assert reader.all_finite(present) == all(bool(torch.isfinite(t).all()) for t in present)
