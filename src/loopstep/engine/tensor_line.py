"""One line for a tensor, lovely-tensors style, that fits the width it is given.

``tensor[32,2] n=64 x∈[-0.675, 0.701] μ=-0.042 σ=0.403 grad``: every pane, the expression
prompt, the watches, the variables and the text stream write a tensor with this one
function. A line that is too wide loses whole fields, the least telling first (the norm,
then the element count, σ, ...), never part of a number: a cut ``8.384e…`` reads as a
different number. The flags that say something is wrong (``3 NaN!``, ``all zeros``) go last.
"""

from __future__ import annotations

from dataclasses import dataclass

from .summary import NumberFormat, TensorSummary, number_format

#: Tensors with at most this many elements (and their values kept) are written value by value.
INLINE_NUMEL = 6
#: The dtype nobody needs to be told about.
DEFAULT_DTYPES = ("float32", "torch.float32")


@dataclass(frozen=True)
class Field:
    """One piece of the line; ``rank`` orders what goes first when the width runs out."""

    text: str
    rank: int  # 0 is never dropped; higher ranks are dropped first


def tensor_fields(
    summary: TensorSummary,
    *,
    shape: bool = True,
    grad: bool = False,
    dtype: str = "auto",
    number: NumberFormat | None = None,
    label: str = "tensor",
) -> list[Field]:
    """The fields of the line in reading order.

    ``shape=False`` leaves the shape out (a table that shows it in a column of its own);
    ``dtype``: ``"auto"`` names it when it is not float32, ``"always"`` or ``"never"``.
    """
    dims = ",".join(str(d) for d in summary.shape)
    fields: list[Field] = []
    if shape:
        fields.append(Field(f"{label}[{dims}]" if summary.shape else label, 0))
    numel = summary.numel
    if numel > 1 and shape:
        fields.append(Field(f"n={numel}", 7))
    kind = summary.dtype.removeprefix("torch.")
    if dtype == "always" or (dtype == "auto" and summary.dtype not in DEFAULT_DTYPES):
        fields.append(Field(kind, 4))
    if summary.device not in ("cpu", ""):
        fields.append(Field(summary.device, 4))
    if numel == 0:
        fields.append(Field("empty", 1))
    elif summary.zeros:
        fields.append(Field("all zeros", 1))
    else:
        fields += _numbers(summary, number or number_format(shown_numbers(summary)))
    if summary.nan:
        fields.append(Field(f"{summary.nan} NaN!" if numel > 1 else "NaN!", 1))
    if summary.inf:
        fields.append(Field(f"{summary.inf} Inf!" if numel > 1 else "Inf!", 1))
    if grad:
        fields.append(Field("grad", 3))
    return fields


def shown_numbers(summary: TensorSummary) -> list[float]:
    """The numbers the line shows (its values when tiny, else its statistics): a column of
    lines writes them all one way."""
    if summary.numel == 0 or summary.zeros:
        return []
    values = summary.values()
    if values is not None and summary.numel <= INLINE_NUMEL:
        return [float(v) for v in values.reshape(-1)]
    return [summary.mean, summary.std, summary.min, summary.max, summary.norm]


def _numbers(summary: TensorSummary, number: NumberFormat) -> list[Field]:
    values = summary.values()
    if values is not None and summary.numel <= INLINE_NUMEL:
        flat = [number(float(v)) for v in values.reshape(-1)]
        if summary.numel == 1:
            return [Field(flat[0], 0)]
        return [Field("[" + ", ".join(flat) + "]", 1)]
    if summary.numel == 1:
        return [Field(number(summary.mean), 0)]
    return [
        Field(f"x∈[{number(summary.min)}, {number(summary.max)}]", 2),
        Field(f"μ={number(summary.mean)}", 3),
        Field(f"σ={number(summary.std)}", 5),
        Field(f"‖x‖={number(summary.norm)}", 8),
    ]


def fit(fields: list[Field], width: int | None) -> str:
    """The fields joined by spaces, dropping the highest ranks until the line fits ``width``
    (None: no limit). A first field too wide on its own becomes ``…``."""
    if width is None or _length(fields) <= width:
        return " ".join(f.text for f in fields)
    # The fields that must stay, then each other one in rank order where it still fits: a
    # range too wide for the cell leaves room for μ rather than for nothing.
    chosen = {i for i, f in enumerate(fields) if f.rank == 0}
    used = _length([fields[i] for i in chosen]) if chosen else -1
    for i in sorted(range(len(fields)), key=lambda i: (fields[i].rank, i)):
        if i not in chosen and used + 1 + len(fields[i].text) <= width:
            chosen.add(i)
            used += 1 + len(fields[i].text)
    kept = [f for i, f in enumerate(fields) if i in chosen]
    line = " ".join(f.text for f in kept)
    if width is not None and len(line) > width:
        # Only what must stay is left and it is still too wide: keep whole fields only.
        out = ""
        for field in kept:
            candidate = f"{out} {field.text}" if out else field.text
            if len(candidate) + 2 > width:
                break
            out = candidate
        line = f"{out} …" if out else "…"[:width]
    return line


def _length(fields: list[Field]) -> int:
    return sum(len(f.text) for f in fields) + len(fields) - 1


def tensor_line(summary: TensorSummary | None, width: int | None = None, **options) -> str:
    """``tensor[32,2] n=64 x∈[-0.675, 0.701] μ=-0.042 σ=0.403``, at most ``width`` wide;
    ``None`` for a missing tensor (a ``.grad`` never filled)."""
    if summary is None:
        return "None"
    return fit(tensor_fields(summary, **options), width)
