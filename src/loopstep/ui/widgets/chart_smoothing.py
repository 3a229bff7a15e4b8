"""TensorBoard's smoothing of a noisy curve: an exponential moving average, debiased so the
first points are not pulled towards 0, drawn over the raw curve (which stays, faint).

The weight is TensorBoard's (0: none, 0.6 its default, 0.99 heavy). As there, a constant
curve and any non-finite value are passed through as they are, and a non-finite value does
not enter the average.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: The weights ``m`` goes through, in order (0: the raw curve alone).
WEIGHTS = (0.6, 0.9, 0.99, 0.0)
DEFAULT = 0.6


def smoothed(values: Sequence[float], weight: float) -> tuple[float, ...]:
    """Each value's debiased EMA of the values up to it (TensorBoard's formula)."""
    if not values:
        return ()
    if weight <= 0 or all(v == values[0] for v in values):
        return tuple(values)
    out = []
    last, taken = 0.0, 0
    for value in values:
        if not math.isfinite(value):
            out.append(value)
            continue
        last = last * weight + (1 - weight) * value
        taken += 1
        value_now = last / (1 - weight**taken) if weight < 1 else last
        out.append(value_now if math.isfinite(value_now) else value)  # rounding past the largest float
    return tuple(out)


def next_weight(weight: float) -> float:
    """The weight after ``weight`` in :data:`WEIGHTS` (from any other: the default)."""
    if weight in WEIGHTS:
        return WEIGHTS[(WEIGHTS.index(weight) + 1) % len(WEIGHTS)]
    return DEFAULT
