"""Brief summaries of parameters and their ``.grad``: the norm of each (and the values of a
small one), what a printed stream shows at every phase.

A small model's phase lasts ~0.2 ms and a torch call costs a few µs on the CPU, so the
stream cannot afford one per tensor: the small CPU tensors are read through NumPy views of
their storage, kept from phase to phase (an optimizer updates a parameter in place, so its
view sees the new values; a ``.grad`` made anew or a storage swapped by ``p.data = ...``
gets a new view), and reduced together in a handful of NumPy calls. Larger tensors and
tensors on a device take one fused norm per device and one copy to the host.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from math import isfinite

import numpy as np
import torch

from ...engine.summary import SMALL_NUMEL, TensorSummary
from .stats import FUSED_NUMEL, _host_flat, _nonfinite_counts, summarize_many

_VIEWABLE = (torch.float32, torch.float64, torch.float16)
_PLAIN = (torch.Tensor, torch.nn.Parameter)
_HALF = (torch.float16, torch.bfloat16)
_NAN = float("nan")
_FLOAT64 = np.dtype(np.float64)
_DTYPE_NAMES: dict[torch.dtype, str] = {}


class NormReader:
    """Brief summaries (``TensorSummary.brief``) of many tensors at once, phase after phase."""

    def __init__(self) -> None:
        #: id(tensor) -> (tensor, data_ptr, shape, flat NumPy view): kept one phase, for the
        #: tensors given again at the next one (holding the tensor keeps its id its own).
        self._views: dict[int, tuple[torch.Tensor, int, torch.Size, np.ndarray]] = {}
        #: id(tensor) -> its last summary, given again while its numbers are the same (most
        #: phases change either the parameters or the grads, not both): building one costs
        #: more than reading the tensor.
        self._last: dict[int, TensorSummary] = {}
        #: The tensors' lengths -> their offsets in the concatenated copy (a list and an array).
        self._layouts: dict[tuple[int, ...], tuple[list[int], np.ndarray]] = {}
        #: The last call's tensors (ids, in order), their values in one copy and the summaries
        #: given: a phase that changed none of them (a forward, a loss) gets those again.
        self._last_call: tuple[tuple[int, ...], np.ndarray, list[TensorSummary]] | None = None

    def summaries(self, tensors: Sequence[torch.Tensor | None]) -> list[TensorSummary | None]:
        out: list[TensorSummary | None] = [None] * len(tensors)
        on_host, others = self._lookup(tensors)
        if on_host:
            self._from_views(on_host, out)
        else:
            self._last = {}
        if others:
            _from_torch(others, out)
        return out

    def norms(self, tensors: Sequence[torch.Tensor]) -> list[float]:
        """Just the norms (a stop condition's, a metric's): float64 for the small CPU tensors,
        float32 or wider for the others (one fused norm per device and dtype)."""
        out = [0.0] * len(tensors)
        on_host, others = self._lookup(tensors)
        if on_host:
            _, _, norms = self._norms_of([item[2] for item in on_host])
            for (i, *_), norm in zip(on_host, norms):
                out[i] = norm
        if others:
            for (i, _), norm in zip(others, fused_norms([t for _, t in others])):
                out[i] = norm
        return out

    def all_finite(self, tensors: Sequence[torch.Tensor]) -> bool:
        """:func:`all_finite`, the views of the small CPU tensors kept for the next call (the
        same parameters, checked after every step)."""
        on_host, others = self._lookup(tensors)
        if on_host and not _views_finite([item[2] for item in on_host]):
            return False
        return _fused_all_finite([t for _, t in others])

    def _lookup(self, tensors: Sequence[torch.Tensor | None]) -> tuple[list, list]:
        """The tensors read through views (index, tensor, view, whether the view is the last
        call's) and the others (index, tensor); the views are kept for the next call."""
        old, views = self._views, {}
        on_host: list[tuple[int, torch.Tensor, np.ndarray, bool]] = []
        others: list[tuple[int, torch.Tensor]] = []
        for i, t in enumerate(tensors):
            if t is None:
                continue
            key = id(t)
            kept = old.get(key)
            reused = kept is not None and kept[0] is t and kept[1] == t.data_ptr() and kept[2] == t.shape
            if not reused:
                kept = _view(t)
                if kept is None:
                    others.append((i, t))
                    continue
            views[key] = kept
            on_host.append((i, t, kept[3], reused))  # a new view: no summary of it to give again
        self._views = views
        return on_host, others

    def _norms_of(
        self, flats: list[np.ndarray], data: np.ndarray | None = None
    ) -> tuple[np.ndarray, list[int], list[float]]:
        """The views' values in one float64 copy (``data``, if made already), where each
        starts in it, and their norms."""
        lengths = tuple(flat.size for flat in flats)
        layout = self._layouts.get(lengths)
        if layout is None:
            if len(self._layouts) >= 16:
                self._layouts.clear()
            starts = list(accumulate(lengths, initial=0))[:-1]
            layout = self._layouts[lengths] = (starts, np.array(starts, dtype=np.intp))
        starts, at = layout
        if data is None:
            data = np.concatenate(flats, dtype=np.float64)
        if any(flat.dtype == _FLOAT64 for flat in flats):
            with np.errstate(over="ignore"):  # squares past float64's range: an Inf norm, said so
                norms = np.sqrt(np.add.reduceat(data * data, at)).tolist()
        else:  # a float32 or float16 value squared stays well inside float64's range
            norms = np.sqrt(np.add.reduceat(data * data, at)).tolist()
        return data, starts, norms

    def _from_views(self, items: list[tuple[int, torch.Tensor, np.ndarray, bool]], out: list) -> None:
        """Norms in float64 (as the full summaries give them) from one concatenated copy."""
        flats = [item[2] for item in items]
        data = np.concatenate(flats, dtype=np.float64)
        ids = tuple(id(item[1]) for item in items)
        last_call = self._last_call
        if (
            last_call is not None
            and last_call[0] == ids
            and all(item[3] for item in items)  # each the very tensor, storage and shape of the last call
            and np.array_equal(
                data, last_call[1]
            )  # compared, not trusted: `p.data.clamp_()` bumps no version
        ):
            for (i, *_), summary in zip(items, last_call[2]):
                out[i] = summary
            return
        data, starts, norms = self._norms_of(flats, data)
        lengths = [flat.size for flat in flats]
        last, kept = self._last, {}
        for (i, t, _, reused), norm, start, n in zip(items, norms, starts, lengths):
            key = id(t)
            preview = data[start : start + n] if n <= SMALL_NUMEL else None
            summary = last.get(key) if reused else None
            if (
                summary is None
                or not (summary.norm == norm or (norm != norm and summary.norm != summary.norm))
                or (preview is not None and summary.preview.tobytes() != preview.tobytes())
            ):
                if preview is not None:
                    preview = preview.copy()  # its own array, not a window on all of data
                    preview.setflags(write=False)
                summary = _brief(t, norm, preview, "cpu")
            out[i] = kept[key] = summary
        self._last = kept
        self._last_call = (ids, data, [out[item[0]] for item in items])


def fused_norms(tensors: Sequence[torch.Tensor]) -> list[float]:
    """One fused norm per (device, dtype) group and one host copy per group: for tensors
    read once (a .grad is new at each backward, so no view of it is worth keeping) or too
    large for a view."""
    groups: dict[tuple[torch.device, torch.dtype], list[int]] = {}
    for i, t in enumerate(tensors):
        groups.setdefault((t.device, t.dtype), []).append(i)
    out: list[float] = [0.0] * len(tensors)
    with torch.no_grad():
        for indices in groups.values():
            found = torch.stack(_norms([tensors[i] for i in indices])).tolist()
            for i, norm in zip(indices, found):
                out[i] = norm
    return out


def _norms(flats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The 2-norm of each tensor, fused per dtype, a 16-bit float's accumulated and given in
    float32 (as the full summary does): in float16 a norm past 65504 is Inf, and the 2-norm
    of a thousand finite values of 3000 is past it."""
    if all(f.dtype not in _HALF for f in flats):
        return list(torch._foreach_norm(flats))
    out: list[torch.Tensor | None] = [None] * len(flats)
    by_dtype: dict[torch.dtype, list[int]] = {}
    for i, f in enumerate(flats):
        by_dtype.setdefault(f.dtype, []).append(i)
    for dtype, indices in by_dtype.items():
        wide = torch.float32 if dtype in _HALF else None
        for i, norm in zip(indices, torch._foreach_norm([flats[i] for i in indices], 2, dtype=wide)):
            out[i] = norm
    return out  # type: ignore[return-value]


def all_finite(tensors: Sequence[torch.Tensor]) -> bool:
    """No NaN or Inf in any of the tensors (a parameter may be given as it is: no autograd
    here). A finite 2-norm means finite values (one fused norm, the fast reduction); a norm
    that is not finite may have overflowed (a float16 tensor's, past 65504, for finite
    values), so that tensor's values are looked at: the exact test costs ~10x the norm on
    the CPU, paid only there. The norms come to the host in one copy and are judged there.

    Small CPU tensors (a small model's, a bias) are judged exactly, together, through NumPy
    views of their storage: there each torch call costs more than the reduction (on the CPU
    the fused norm is one norm per tensor)."""
    flats: list[np.ndarray] = []
    others: list[torch.Tensor] = []
    for t in tensors:
        kept = _view(t)
        if kept is None:
            others.append(t)
        else:
            flats.append(kept[3])
    return (not flats or _views_finite(flats)) and _fused_all_finite(others)


def _views_finite(flats: list[np.ndarray]) -> bool:
    return bool(np.isfinite(np.concatenate(flats) if len(flats) > 1 else flats[0]).all())


def _fused_all_finite(tensors: Sequence[torch.Tensor]) -> bool:
    if not tensors:
        return True
    with torch.no_grad():
        try:
            norms = torch.stack(_norms(tensors)).tolist()
        except RuntimeError:  # tensors on several devices
            groups: dict[torch.device, list[torch.Tensor]] = {}
            for t in tensors:
                groups.setdefault(t.device, []).append(t)
            return all(_fused_all_finite(group) for group in groups.values())
        if all(map(isfinite, norms)):
            return True
        return all(_values_finite(t) for t, norm in zip(tensors, norms) if not isfinite(norm))


def _values_finite(t: torch.Tensor) -> bool:
    """NaN and Inf reach a tensor's least and greatest values, which never overflow."""
    if t.numel() == 0:
        return True
    lo, hi = torch.aminmax(t.detach().reshape(-1))
    return isfinite(lo.item()) and isfinite(hi.item())


def _view(t: torch.Tensor) -> tuple[torch.Tensor, int, torch.Size, np.ndarray] | None:
    """A flat NumPy view of a small, dense, contiguous CPU tensor's storage (None otherwise)."""
    if (
        type(t) not in _PLAIN  # a tensor subclass (DTensor, a fake tensor) may hold no local data
        or not t.is_cpu
        or t.layout is not torch.strided
        or t.dtype not in _VIEWABLE
        or not 0 < t.numel() <= FUSED_NUMEL
        or not t.is_contiguous()
    ):
        return None
    host = t.detach().numpy() if t.requires_grad else t.numpy()
    return t, t.data_ptr(), t.shape, host.reshape(-1)


def _from_torch(items: list[tuple[int, torch.Tensor]], out: list) -> None:
    """One fused norm per device, and one host copy of the norms and the small tensors' values."""
    by_device: dict[torch.device, list[tuple[int, torch.Tensor]]] = {}
    with torch.no_grad():
        for i, t in items:
            if t.layout is not torch.strided or t.numel() == 0:  # no flat view: the full summary
                out[i] = summarize_many([t])[0]
            else:
                by_device.setdefault(t.device, []).append((i, t))
        for device, group in by_device.items():
            flats = [_host_flat(t) for _, t in group]
            norms = _norms(flats)
            small = [f for f in flats if f.numel() <= SMALL_NUMEL]
            host = torch.cat([torch.stack(norms), *small]).to("cpu", torch.float64).numpy()
            at, shown = len(group), str(device)
            for k, ((i, t), flat) in enumerate(zip(group, flats)):
                n = flat.numel()
                preview = None
                if n <= SMALL_NUMEL:
                    preview = host[at : at + n]
                    preview.setflags(write=False)
                    at += n
                out[i] = _brief(t, float(host[k]), preview, shown)


def _brief(t: torch.Tensor, norm: float, preview: np.ndarray | None, device: str) -> TensorSummary:
    nan = inf = 0
    if not isfinite(norm):
        nan, inf = _nonfinite_counts(t)
        norm = _NAN if nan else float("inf")
    dtype = _DTYPE_NAMES.get(t.dtype)
    if dtype is None:
        dtype = _DTYPE_NAMES[t.dtype] = str(t.dtype).removeprefix("torch.")
    return TensorSummary.brief_of(tuple(t.shape), dtype, norm, nan, inf, preview, device)
