"""How one tensor summary reads in a pane: values in full when small, one line when big.

A table column writes all its numbers one way (:func:`column_format`): 4 significant
digits, or scientific when any number in it needs that, never the two side by side.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...engine.summary import NumberFormat, TensorSummary, number_format

#: Tensors with at most this many elements are written out value by value.
INLINE_NUMEL = 6


def shown_numbers(summary: TensorSummary | None) -> list[float]:
    """The numbers a cell shows for this summary (its values when tiny, else its statistics)."""
    if summary is None or summary.numel == 0 or summary.zeros:
        return []
    values = summary.values()
    if values is not None and summary.numel <= INLINE_NUMEL:
        return [float(v) for v in values.reshape(-1)]
    return [summary.mean, summary.std, summary.min, summary.max, summary.norm]


def column_format(summaries: Iterable[TensorSummary | None]) -> NumberFormat:
    """One number format for a column of summaries."""
    return number_format(v for s in summaries for v in shown_numbers(s))


def short(summary: TensorSummary | None, number: NumberFormat | None = None) -> str:
    """Values for a tiny tensor, otherwise the one-line summary."""
    if summary is None:
        return "None"
    number = number or column_format([summary])
    values = summary.values()
    if values is not None and summary.numel <= INLINE_NUMEL:
        flat = values.reshape(-1)
        if flat.size == 1 and summary.shape in ((), (1,)):
            return number(float(flat[0]))
        return "[" + ", ".join(number(float(v)) for v in flat) + "]"
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
    number = column_format([summary])
    if summary.numel == 1:
        return f"{shape_text(summary.shape)} {number(summary.mean)}{summary.flags}"
    if summary.zeros:
        return f"{shape_text(summary.shape)} all zeros"
    return (
        f"{shape_text(summary.shape)} [{number(summary.min)}, {number(summary.max)}] "
        f"μ={number(summary.mean)}{summary.flags}"
    )


def one_line(
    summary: TensorSummary | None, *, dtype: bool = False, number: NumberFormat | None = None
) -> str:
    """For a table cell: values when tiny, else the statistics on one line (the shape is in
    its own column): μ, σ, range, and flags for NaN, Inf and all-zeros."""
    if summary is None:
        return "None"
    number = number or column_format([summary])
    if summary.numel <= INLINE_NUMEL and summary.values() is not None:
        return short(summary, number)
    if summary.zeros:
        return "all zeros"
    kind = f"{summary.dtype} " if dtype else ""
    return (
        f"{kind}μ={number(summary.mean)} σ={number(summary.std)} "
        f"[{number(summary.min)}, {number(summary.max)}]{summary.flags}"
    )


def change_format(changes: Iterable[TensorSummary | None]) -> NumberFormat:
    """One number format for a column of :func:`change_text` cells."""
    numbers: list[float] = []
    for change in changes:
        if change is None:
            continue
        tiny = change.numel <= INLINE_NUMEL and change.values() is not None
        numbers += shown_numbers(change) if tiny else [change.norm]
    return number_format(numbers)


def change_text(change: TensorSummary | None, number: NumberFormat | None = None) -> str:
    """The last step's move: values when tiny, else its size ‖Δ‖."""
    if change is None:
        return "—"
    number = number or change_format([change])
    if change.numel <= INLINE_NUMEL and change.values() is not None:
        return short(change, number)
    return f"‖Δ‖={number(change.norm)}"
