"""Summaries of many tensors with one host sync.

Per-tensor ``.item()`` calls cost ~330 ms on a 10M-parameter model; stacking every
statistic on the device and copying once costs ~12 ms. The small tensors of the CPU (a
small model's parameters, grads and batch) are summarized in one numpy pass instead: a torch
call per tensor and statistic made a phase's snapshot of a tiny MLP cost ~5 ms.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import isfinite, sqrt

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


#: A CPU tensor up to this many elements is summarized with the others in one pass; past a
#: few thousand, torch's own float32 reductions beat numpy's float64 ones (bench/summaries.py).
FUSED_NUMEL = 4096


def _host_flat(t: torch.Tensor) -> torch.Tensor:
    """A 1-D float32 or float64 view of ``t`` (a copy only for other dtypes)."""
    x = t.detach()
    if x.is_complex():
        x = x.abs()
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()
    return x.reshape(-1)


def _fused_rows(tensors: Sequence[torch.Tensor], keep: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Statistics rows (as :func:`_row`) and previews of small, non-empty CPU tensors, all at
    once: one copy into a float64 array and one numpy reduction per statistic, where a torch
    call per tensor and statistic costs ~5 µs each (a phase of a small model summarizes ~30)."""
    flats = [_host_flat(t) for t in tensors]
    data = np.empty(sum(f.numel() for f in flats), dtype=np.float64)
    offsets = np.empty(len(flats), dtype=np.intp)
    at = 0
    for i, flat in enumerate(flats):  # written in place: no concatenated copy first
        n = flat.numel()
        offsets[i] = at
        data[at : at + n] = flat.numpy()
        at += n
    lengths = np.diff(np.append(offsets, at))
    # NaN and Inf go through the statistics quietly, as through torch's: they are counted after.
    with np.errstate(all="ignore"):
        total = np.add.reduceat(data, offsets)
        sum_sq = np.add.reduceat(data * data, offsets)
        lo = np.minimum.reduceat(data, offsets)
        hi = np.maximum.reduceat(data, offsets)
        mean = total / lengths
        var = np.maximum((sum_sq - lengths * mean * mean) / np.maximum(lengths - 1, 1), 0.0)
        std = np.sqrt(var)
    rows = np.stack([mean, std, lo, hi, sum_sq], axis=1)
    previews = [data[o : o + min(n, keep)] for o, n in zip(offsets, lengths)]
    return rows, previews


def _device_rows(items: Sequence[torch.Tensor], keep: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Statistics rows and previews computed on the tensors' device, then one copy to the host."""
    rows = torch.stack([_row(t) for t in items])
    heads = [t.detach().reshape(-1)[:keep] for t in items]
    lengths = [h.numel() for h in heads]
    flat = torch.cat([h.to(torch.float64) if not h.is_complex() else h.abs().double() for h in heads])
    rows_np = rows.cpu().numpy()
    flat_np = flat.cpu().numpy()
    previews, offset = [], 0
    for n in lengths:
        previews.append(flat_np[offset : offset + n])
        offset += n
    return rows_np, previews


def summarize_many(
    tensors: Sequence[torch.Tensor | None], *, keep: int = PREVIEW_NUMEL
) -> list[TensorSummary | None]:
    """Summaries for every tensor, None stays None. One device→host copy in all; the small
    tensors of the CPU in one fused pass."""
    # A sparse tensor (an nn.Embedding(sparse=True)'s .grad) is summarized as the dense one it stands for.
    present = [
        (i, t if t.layout is torch.strided else t.to_dense()) for i, t in enumerate(tensors) if t is not None
    ]
    out: list[TensorSummary | None] = [None] * len(tensors)
    if not present:
        return out
    with torch.no_grad():
        fused: list[tuple[int, torch.Tensor]] = []
        # Group by device so each device pays one copy.
        by_device: dict[torch.device, list[tuple[int, torch.Tensor]]] = {}
        for i, t in present:
            if t.device.type == "cpu" and 0 < t.numel() <= FUSED_NUMEL:
                fused.append((i, t))
            else:
                by_device.setdefault(t.device, []).append((i, t))
        groups = [(torch.device("cpu"), fused, _fused_rows)] if fused else []
        groups += [(device, items, _device_rows) for device, items in by_device.items()]
        for device, items, rows_of in groups:
            rows_np, previews = rows_of([t for _, t in items], keep)
            for (i, t), row, preview in zip(items, rows_np, previews):
                preview = preview.copy()
                preview.setflags(write=False)
                out[i] = _summary(t, row, preview, device)
    return out


def _summary(t: torch.Tensor, row: np.ndarray, preview: np.ndarray, device: torch.device) -> TensorSummary:
    mean, std, lo, hi, sum_sq = row.tolist()
    nan = inf = 0
    if not (isfinite(mean) and isfinite(std) and isfinite(lo) and isfinite(hi)):
        nan, inf = _nonfinite_counts(t)
        # Derived values mean nothing with NaN/Inf present.
        sum_sq = float("nan") if nan else float("inf")
    return TensorSummary(
        shape=tuple(int(d) for d in t.shape),
        dtype=str(t.dtype).removeprefix("torch."),
        norm=sqrt(max(sum_sq, 0.0)) if isfinite(sum_sq) else sum_sq,
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


def summarize(t: torch.Tensor | None) -> TensorSummary | None:
    return summarize_many([t])[0]
