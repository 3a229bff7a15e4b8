"""Summaries of many tensors with one host sync.

Per-tensor ``.item()`` calls cost ~330 ms on a 10M-parameter model; stacking every
statistic on the device and copying once costs ~12 ms.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ...engine.summary import PREVIEW_NUMEL, TensorSummary

_STATS = 5  # mean, std, min, max, sum of squares


def _row(t: torch.Tensor) -> torch.Tensor:
    """Statistics in three fast passes over the data (sum, norm, min/max).

    NaN and Inf propagate into them, so they are counted only for the rare tensor whose
    statistics come back non-finite.
    """
    x = t.detach()
    if x.is_complex():
        x = x.abs()
    work = x if x.dtype in (torch.float64, torch.float32) else x.float()
    flat = work.reshape(-1)
    n = flat.numel()
    if n == 0:
        return torch.zeros(_STATS, dtype=torch.float64, device=x.device)
    total = flat.sum()
    norm = torch.linalg.vector_norm(flat)
    lo, hi = torch.aminmax(flat)
    row = torch.stack([total, norm, lo, hi]).double()
    mean = row[0] / n
    sum_sq = row[1] * row[1]
    # One-pass variance: fast (std_mean is ~20x slower on CPU); clamped against rounding.
    var = torch.clamp((sum_sq - n * mean * mean) / max(n - 1, 1), min=0.0)
    return torch.stack([mean, torch.sqrt(var), row[2], row[3], sum_sq])


def _nonfinite_counts(t: torch.Tensor) -> tuple[int, int]:
    flat = t.detach().reshape(-1)
    if not (flat.is_floating_point() or flat.is_complex()):
        return 0, 0
    nan = int(torch.isnan(flat).sum())
    inf = int(torch.isinf(flat).sum())
    return nan, inf


def summarize_many(
    tensors: Sequence[torch.Tensor | None], *, keep: int = PREVIEW_NUMEL
) -> list[TensorSummary | None]:
    """Summaries for every tensor, None stays None. One device→host copy in all."""
    present = [(i, t) for i, t in enumerate(tensors) if t is not None]
    out: list[TensorSummary | None] = [None] * len(tensors)
    if not present:
        return out
    with torch.no_grad():
        # Group by device so each device pays one copy.
        by_device: dict[torch.device, list[tuple[int, torch.Tensor]]] = {}
        for i, t in present:
            by_device.setdefault(t.device, []).append((i, t))
        for device, items in by_device.items():
            rows = torch.stack([_row(t) for _, t in items])
            heads = [t.detach().reshape(-1)[:keep] for _, t in items]
            lengths = [h.numel() for h in heads]
            flat = (
                torch.cat([h.to(torch.float64) if not h.is_complex() else h.abs().double() for h in heads])
                if heads
                else None
            )
            rows_np = rows.cpu().numpy()
            flat_np = flat.cpu().numpy() if flat is not None else np.zeros(0)
            offset = 0
            for (i, t), row, n in zip(items, rows_np, lengths):
                preview = flat_np[offset : offset + n].copy()
                offset += n
                preview.setflags(write=False)
                mean, std, lo, hi, sum_sq = (float(v) for v in row)
                nan = inf = 0
                if not all(np.isfinite((mean, std, lo, hi))):
                    nan, inf = _nonfinite_counts(t)
                    # Derived values mean nothing with NaN/Inf present.
                    sum_sq = float("nan") if nan else float("inf")
                out[i] = TensorSummary(
                    shape=tuple(int(d) for d in t.shape),
                    dtype=str(t.dtype).removeprefix("torch."),
                    norm=float(np.sqrt(max(sum_sq, 0.0))) if np.isfinite(sum_sq) else sum_sq,
                    mean=mean,
                    std=std,
                    min=lo,
                    max=hi,
                    nan=nan,
                    inf=inf,
                    zeros=t.numel() > 0 and lo == 0.0 and hi == 0.0,
                    preview=preview,
                    device=str(device),
                )
    return out


def summarize(t: torch.Tensor | None) -> TensorSummary | None:
    return summarize_many([t])[0]
