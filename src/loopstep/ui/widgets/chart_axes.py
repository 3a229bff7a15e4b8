"""The loss chart's y axis: ticks at round numbers (1, 2 or 5 × 10^k apart), the axis running
from the tick at or below the lowest loss to the one at or above the highest, as TensorBoard
draws it; on a log scale, ticks at whole decades once the losses span a few of them.

Positions are in plotted units (the log10 of a loss on a log scale, a loss brought near 1 by
``shift`` on a linear one); labels in the loss's own units, each one different from the next.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

#: How many decades the losses must span before a log axis is ticked at decades alone.
DECADES = 2.0


@dataclass(frozen=True)
class Axis:
    limits: tuple[float, float]
    ticks: tuple[float, ...]
    labels: tuple[str, ...]


def nice_step(span: float, count: int) -> tuple[int, int]:
    """The step 1, 2 or 5 × 10^k nearest to ``span`` / (``count`` - 1) (Heckbert's "nice
    numbers"), as (mantissa, exponent): kept apart, so that the ticks are exact decimals."""
    rough = span / max(count - 1, 1)
    exponent = math.floor(math.log10(rough))
    fraction = rough / 10.0**exponent
    for mantissa, below in ((1, 1.5), (2, 3.0), (5, 7.0)):
        if fraction < below:
            return mantissa, exponent
    return 1, exponent + 1


def nice_ticks(low: float, high: float, count: int, *, whole: bool = False) -> tuple[float, ...]:
    """Round numbers from the one at or below ``low`` to the one at or above ``high`` (a
    single value: itself), whole numbers only if ``whole``. Exact decimals: 0.3, not
    0.30000000000000004."""
    span = high - low
    if not (math.isfinite(span) and span > 0) or span / max(count - 1, 1) < 1e-300:
        return (low,)  # no step a float holds
    mantissa, exponent = nice_step(span, count)
    if whole and exponent < 0:
        mantissa, exponent = 1, 0
    step = mantissa * 10.0**exponent
    first, last = math.floor(low / step + 1e-12), math.ceil(high / step - 1e-12)

    def tick(k: int) -> float:
        return float(f"{k * mantissa}e{exponent}")

    slack = max(abs(low), abs(high)) * 1e-14  # a loss given back from its log10 is off in its last bits
    first -= tick(first) > low + slack  # rounding left the lowest value below the first tick
    last += tick(last) < high - slack
    return tuple(tick(k) for k in range(first, last + 1))


def labels_of(values: tuple[float, ...]) -> tuple[str, ...]:
    """Round numbers in their shortest form (0.2, 1e-05, 5e+05), with more digits where that
    would label two ticks alike."""
    labels = tuple(f"{v:.4g}" for v in values)
    digits = 5
    while len(set(labels)) < len(labels) and digits <= 17:
        labels = tuple(f"{v:.{digits}g}" for v in values)
        digits += 1
    return labels


def linear_axis(low: float, high: float, count: int, shift: int = 0) -> Axis:
    """``low``..``high`` in plotted units, each a loss divided by 2**shift."""
    if not high > low:
        return Axis(_room(low, high, log=False), (low,), labels_of((_ldexp(low, shift),)))
    # Values brought near 1 (past 1e±100) are ticked in plotted units: round numbers there.
    return _enclosing(low, high, nice_ticks(low, high, count), lambda p: _ldexp(p, shift))


def log_axis(low: float, high: float, count: int) -> Axis:
    """``low``..``high`` are log10 of the losses: decades when they span a few, else round
    numbers of the losses themselves, placed at their log10."""
    if not high > low:
        return Axis(_room(low, high, log=True), (low,), labels_of((_power10(low),)))
    if high - low >= DECADES:
        return _enclosing(low, high, nice_ticks(low, high, count, whole=True), _power10)
    values = [v for v in nice_ticks(_power10(low), _power10(high), count) if v > 0]
    return _enclosing(low, high, tuple(map(math.log10, values)), _power10)


def _enclosing(
    low: float, high: float, positions: tuple[float, ...], values_at: Callable[[float], float]
) -> Axis:
    """The axis over the data and its ticks, each labelled with ``values_at`` its position
    (the data's own ends where no two ticks could be had: a span too small or too large for
    a float's steps)."""
    values = tuple(map(values_at, positions))
    if (
        len(set(values)) < 2
        or len(set(values)) < len(values)
        or not all(map(math.isfinite, positions + values))
    ):
        return Axis((low, high), (low, high), labels_of((values_at(low), values_at(high))))
    return Axis((min(low, positions[0]), max(high, positions[-1])), positions, labels_of(values))


def _room(low: float, high: float, *, log: bool) -> tuple[float, float]:
    """A flat curve gets room around it (a decade each way on log)."""
    pad = 1.0 if log or low == 0 else abs(low) / 2
    return low - pad, high + pad


def _power10(exponent: float) -> float:
    """10**exponent, the largest float where that rounds past it."""
    try:
        return 10.0**exponent
    except OverflowError:
        return 1.7976931348623157e308


def _ldexp(value: float, shift: int) -> float:
    """A plotted value in the loss's units (inf past the largest float: not a tick then)."""
    try:
        return math.ldexp(value, shift)
    except OverflowError:
        return math.inf
