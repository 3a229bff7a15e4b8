"""How one tensor summary reads in a pane: values in full when small, one line when big."""

from __future__ import annotations

from ...engine.summary import TensorSummary, fmt

#: Tensors with at most this many elements are written out value by value.
INLINE_NUMEL = 6


def short(summary: TensorSummary | None) -> str:
    """Values for a tiny tensor, otherwise the one-line summary."""
    if summary is None:
        return "None"
    values = summary.values()
    if values is not None and summary.numel <= INLINE_NUMEL:
        flat = values.reshape(-1)
        if flat.size == 1 and summary.shape in ((), (1,)):
            return fmt(float(flat[0]))
        return "[" + ", ".join(fmt(float(v)) for v in flat) + "]"
    return summary.describe()


def shape_text(shape: tuple[int, ...]) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def same_values(a: TensorSummary | None, b: TensorSummary | None) -> bool:
    """True when two summaries show the same numbers (used to mark what a phase changed)."""
    if a is None or b is None:
        return a is b
    if (a.shape, a.norm, a.mean, a.min, a.max, a.nan, a.inf) != (
        b.shape,
        b.norm,
        b.mean,
        b.min,
        b.max,
        b.nan,
        b.inf,
    ):
        return False
    if a.preview is not None and b.preview is not None and a.preview.shape == b.preview.shape:
        return bool((a.preview == b.preview).all())
    return True


def brief(summary: TensorSummary) -> str:
    """A shorter line than ``describe`` for a narrow list: shape, range and mean, plus flags."""
    flags = (f" NaN!{summary.nan}" if summary.nan else "") + (f" Inf!{summary.inf}" if summary.inf else "")
    if summary.numel == 1:
        return f"{shape_text(summary.shape)} {fmt(summary.mean)}{flags}"
    if summary.zeros:
        return f"{shape_text(summary.shape)} all zeros"
    return (
        f"{shape_text(summary.shape)} [{fmt(summary.min)}, {fmt(summary.max)}] μ={fmt(summary.mean)}{flags}"
    )
