"""lovely-tensors-style summaries of arrays, as plain immutable data.

Backends compute the numbers (torch does it on the device with one host sync);
this module only holds them and turns them into short text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # NumPy loads with the first summary, not with the app's first frame
    import numpy as np

_NAN = float("nan")
#: Tensors with at most this many elements carry their values in JSONL and are shown in full.
SMALL_NUMEL = 64
#: Snapshots keep at most this many leading elements of a bigger tensor for the value viewer.
PREVIEW_NUMEL = 4096


@dataclass(frozen=True)
class TensorSummary:
    shape: tuple[int, ...]
    dtype: str
    norm: float
    mean: float
    std: float
    min: float
    max: float
    nan: int = 0
    inf: int = 0
    zeros: bool = False
    #: The leading PREVIEW_NUMEL elements (all of them for a small tensor), read-only.
    preview: np.ndarray | None = field(default=None, compare=False, repr=False)
    device: str = "cpu"
    #: Only the norm was computed (and, for a small tensor, its values; NaN/Inf are counted):
    #: mean, std, min and max are NaN. What a printed stream needs, at a fraction of the cost.
    brief: bool = False

    @classmethod
    def brief_of(
        cls,
        shape: tuple[int, ...],
        dtype: str,
        norm: float,
        nan: int,
        inf: int,
        preview: np.ndarray | None,
        device: str,
    ) -> TensorSummary:
        """A brief summary (see ``brief``), built at every phase of a printed stream: filled in
        directly, as the frozen dataclass's ``__init__`` would, at a third of its cost."""
        summary = object.__new__(cls)
        summary.__dict__.update(
            shape=shape,
            dtype=dtype,
            norm=norm,
            mean=_NAN,
            std=_NAN,
            min=_NAN,
            max=_NAN,
            nan=nan,
            inf=inf,
            zeros=norm == 0.0,
            preview=preview,
            device=device,
            brief=True,
        )
        return summary

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def finite(self) -> bool:
        return self.nan == 0 and self.inf == 0

    @property
    def is_small(self) -> bool:
        return self.numel <= SMALL_NUMEL

    def values(self) -> np.ndarray | None:
        """The whole tensor, if the snapshot kept all of it."""
        if self.preview is None or self.preview.size < self.numel:
            return None
        return self.preview.reshape(self.shape)

    def scalar(self) -> float | None:
        if self.numel == 1 and self.preview is not None:
            return float(self.preview.reshape(-1)[0])
        return None

    @property
    def flags(self) -> str:
        """ " 2 NaN! 1 Inf!": the non-finite values, counted ("" when there are none)."""
        out = f" {self.nan} NaN!" if self.nan else ""
        return out + (f" {self.inf} Inf!" if self.inf else "")

    def to_json(self, *, with_values: bool | None = None) -> dict:
        """The JSONL form: shape, norm and a small tensor's values. A brief summary is given
        again at each phase its tensor did not change: its record is made once (callers only
        read it)."""
        if with_values is None and self.brief:
            made = self.__dict__.get("_json")
            if made is None:
                made = self.__dict__["_json"] = self._record(self.is_small)
            return made
        return self._record(self.is_small if with_values is None else with_values)

    def _record(self, with_values: bool) -> dict:
        out: dict = {"shape": list(self.shape), "norm": json_float(self.norm)}
        vals = self.values()
        if with_values and vals is not None:
            import numpy as np

            if np.isfinite(vals).all():  # nested lists in one call: no NaN/Inf to spell out
                out["values"] = vals.astype(float, copy=False).tolist()
                return out
            out["values"] = [json_float(v) for v in vals.reshape(-1).tolist()]
            if len(self.shape) != 1:
                out["values"] = np.asarray(out["values"], dtype=object).reshape(self.shape).tolist()
        return out


def json_float(value: float) -> float | str | None:
    """JSON has no NaN/Inf: keep them as strings so a blown-up run stays valid JSON."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _plain_range(value: float) -> bool:
    return 1e-3 <= abs(value) < 1e5


def _text(value: float, scientific: bool) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    if scientific:
        return f"{value:.3e}"
    # 4 significant digits; from 1e4 up %g would switch to an exponent: whole numbers instead
    return f"{value:.0f}" if abs(value) >= 1e4 else f"{value:.4g}"


def fmt(value: float | None, width: int = 0) -> str:
    """Compact number: 4 significant digits, scientific when very large or small."""
    if value is None:
        return "—".rjust(width)
    scientific = math.isfinite(value) and value != 0 and not _plain_range(value)
    return _text(value, scientific).rjust(width)


@dataclass(frozen=True)
class NumberFormat:
    """One way to write the numbers of a column (or of one line): all 4 significant digits,
    or all scientific, never the two side by side (``-8.842e-04`` next to ``0.02453``)."""

    scientific: bool = False

    def __call__(self, value: float | None) -> str:
        if value is None:
            return "—"
        return _text(float(value), self.scientific)


def number_format(values) -> NumberFormat:
    """The format for these numbers: scientific if any of them needs it."""
    for value in values:
        if value is not None and math.isfinite(value) and value != 0 and not _plain_range(value):
            return NumberFormat(scientific=True)
    return NumberFormat()


def count(n: int, singular: str, plural: str | None = None) -> str:
    """ "1 pass", "3 passes": a number with its noun, singular or plural as it must be."""
    if n == 1:
        return f"{n} {singular}"
    if plural is None:
        plural = singular + ("es" if singular.endswith(("s", "x", "ch", "sh")) else "s")
    return f"{n} {plural}"


def summarize_array(array: np.ndarray, *, keep: int = PREVIEW_NUMEL) -> TensorSummary:
    """Summary of a NumPy array (the NumPy backend and recordings use this)."""
    import numpy as np

    arr = np.asarray(array)
    flat = arr.reshape(-1)
    numel = flat.size
    if numel == 0:
        return TensorSummary(tuple(arr.shape), str(arr.dtype), 0.0, 0.0, 0.0, 0.0, 0.0, preview=flat.copy())
    as_float = flat.astype(np.float64, copy=False)
    finite_mask = np.isfinite(as_float)
    nan = int(np.isnan(as_float).sum())
    inf = int(numel - nan - finite_mask.sum())
    with np.errstate(all="ignore"):
        norm = float(np.sqrt(np.sum(as_float * as_float)))
        mean = float(as_float.mean())
        std = float(as_float.std(ddof=1)) if numel > 1 else 0.0
        lo = float(as_float.min())
        hi = float(as_float.max())
    preview = flat[:keep].copy()
    preview.setflags(write=False)
    return TensorSummary(
        shape=tuple(int(d) for d in arr.shape),
        dtype=str(arr.dtype),
        norm=norm,
        mean=mean,
        std=std,
        min=lo,
        max=hi,
        nan=nan,
        inf=inf,
        zeros=bool(numel and lo == 0.0 and hi == 0.0),
        preview=preview,
    )
