"""How one tensor summary reads in a pane: values in full when small, one line when big.

A table column writes all its numbers one way (:func:`column_format`): 4 significant
digits, or scientific when any number in it needs that, never the two side by side.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

from ...engine.summary import NumberFormat, TensorSummary, number_format
from ...engine.tensor_line import INLINE_NUMEL, Field, fit, shown_numbers, tensor_fields, tensor_line


def column_format(summaries: Iterable[TensorSummary | None]) -> NumberFormat:
    """One number format for a column of summaries."""
    return number_format(v for s in summaries if s is not None for v in shown_numbers(s))


class FittedLine:
    """A tensor's one line as a table cell: it takes the width the table gives it and drops
    whole fields to fit (:func:`~loopstep.engine.tensor_line.fit`), never cutting a number."""

    def __init__(
        self, fields: list[Field], style: str = "", *, name: str = "", name_style: str = "bold"
    ) -> None:
        self.fields = fields
        self.style = style
        self.name = name  # written before the line, whatever the width ("x    ")
        self.name_style = name_style

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        shortest = len(self.name) + min((len(f.text) for f in self.fields if f.rank == 0), default=1)
        return Measurement(min(shortest, options.max_width), min(len(self.plain), options.max_width))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        line = fit(self.fields, max(1, options.max_width - len(self.name)))
        yield Text.assemble((self.name, self.name_style), (line, self.style), no_wrap=True, end="")

    @property
    def plain(self) -> str:
        return self.name + fit(self.fields, None)

    def __str__(self) -> str:
        return self.plain


def short(summary: TensorSummary | None, number: NumberFormat | None = None) -> str:
    """Values for a tiny tensor, otherwise the statistics (no shape: it is said beside)."""
    if summary is None:
        return "None"
    return tensor_line(summary, shape=False, number=number or column_format([summary]))


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


def one_line(
    summary: TensorSummary | None, *, dtype: bool = False, number: NumberFormat | None = None, style: str = ""
) -> FittedLine:
    """For a table cell (the shape is in its own column): values when tiny, else the
    statistics, fitted to the column; flags for NaN, Inf and all-zeros."""
    if summary is None:
        return FittedLine([Field("None", 0)], style)
    fields = tensor_fields(
        summary, shape=False, dtype="auto" if dtype else "never", number=number or column_format([summary])
    )
    return FittedLine(fields or [Field("", 0)], style)


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
