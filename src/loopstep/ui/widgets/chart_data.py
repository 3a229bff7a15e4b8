"""What the loss chart hands plotext: finite, moderate numbers and a y axis decided here.

A training run produces losses plotext cannot take: on ``yscale("log")`` with nothing to
draw it has no y ticks and crashes (``power10(None)``), values whose span overflows a float
turn its canvas coordinates into NaN, and denormals overflow its log path. So plotext is
never asked for a log scale nor left to pick the y limits: ``prepare`` takes the log10
itself, brings huge or tiny values near 1 by an exact power of two, and chooses the limits,
tick positions and labels (labels in the original units, by ``fmt``). Points that cannot be
drawn (≤ 0 on a log scale, NaN, ±inf) are left out and counted, so the chart can say so.

Nothing here imports plotext: ``draw`` only calls methods of the plot object it is given.
"""

from __future__ import annotations

import math
import operator
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from itertools import compress

from ...engine.summary import fmt

#: Plotted magnitudes outside this range are brought near 1 by a power of two (exact):
#: plotext subtracts and divides them, which would overflow or lose the denormals.
HUGE = 1e100
TINY = 1e-100
TICKS = 5
EMPTY = "no loss yet: step past the loss phase"


@dataclass(frozen=True)
class Series:
    """One named curve as the run gave it (any floats, NaN and inf included)."""

    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    markers: bool = False  # points (few, e.g. one per epoch) rather than a line


@dataclass(frozen=True)
class Curve:
    """A series as drawn: only the drawable points, y in plotted units."""

    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    markers: bool


@dataclass(frozen=True)
class Frame:
    """Everything one drawing of the chart depends on; equal frames draw the same picture.

    Holds no NaN (NaN != NaN would make every frame look new and repaint the chart)."""

    log: bool
    curves: tuple[Curve, ...] = ()
    ylim: tuple[float, float] = (-1.0, 1.0)
    yticks: tuple[float, ...] = ()
    ylabels: tuple[str, ...] = ()
    not_positive: int = 0  # points ≤ 0 left out (log scale only)
    not_finite: int = 0  # NaN / ±inf points left out
    points: int = 0  # points given, drawn or not
    latest: tuple[str, ...] = ()  # "label value" of each series' last point, NaN included
    xlim: tuple[float, float] = (0.0, 1.0)
    xticks: tuple[int, ...] = ()  # whole iterations, 1-2-5 steps apart

    @property
    def drawable(self) -> bool:
        return bool(self.curves)

    def _left_out(self) -> list[str]:
        parts = []
        if self.not_positive:
            parts.append(f"{_points(self.not_positive)} ≤ 0")
        if self.not_finite:
            parts.append(f"{_points(self.not_finite, 'nan/inf ')}")
        return parts

    @property
    def note(self) -> str:
        """One line saying what was left out ("" when every point is drawn)."""
        parts = self._left_out()
        if not parts:
            return ""
        return ("log scale: " if self.not_positive else "") + ", ".join(parts) + " not shown"

    @property
    def summary(self) -> str:
        """The chart in one line, for a space too small to draw it in."""
        return "last: " + ", ".join(self.latest) if self.latest else self.empty_text

    @property
    def empty_text(self) -> str:
        """What the chart says instead of a plot when nothing can be drawn."""
        if not self.points:
            return EMPTY
        left_out = ", ".join(self._left_out())
        if self.log:
            return f"log scale: nothing to draw ({left_out}); press l for linear"
        return f"nothing to draw ({left_out})"


def _points(count: int, kind: str = "") -> str:
    return f"{count} {kind}point{'s' if count != 1 else ''}"


def prepare(series: Iterable[Series], *, log: bool, ticks: int = TICKS) -> Frame:
    """The frame for these series on a linear or log scale (never raises on any float)."""
    kept: list[tuple[Series, tuple, list[float]]] = []
    not_positive = not_finite = points = 0
    latest = []
    lowest, highest = math.inf, -math.inf  # of the drawable losses, as given
    for one in series:
        xs, ys, left_out = _drawable(one, log=log)
        points += len(xs) + sum(left_out)
        not_finite, not_positive = not_finite + left_out[0], not_positive + left_out[1]
        if one.ys:
            latest.append(f"{one.label} {fmt(one.ys[-1])}")
        if xs:
            lowest, highest = min(lowest, min(ys)), max(highest, max(ys))
            kept.append((one, xs, list(map(math.log10, ys)) if log else list(map(float, ys))))
    counts = {"not_positive": not_positive, "not_finite": not_finite, "points": points}
    counts["latest"] = tuple(latest)
    if not kept:
        return Frame(log, **counts)
    low, high = min(min(ys) for _, _, ys in kept), max(max(ys) for _, _, ys in kept)
    # log10 of a finite float lies in [-324, 309]: only the linear scale needs bringing near 1.
    shift = _shift(max(abs(low), abs(high))) if not log else 0
    if shift:
        kept = [(one, xs, [math.ldexp(y, -shift) for y in ys]) for one, xs, ys in kept]
        low, high = math.ldexp(low, -shift), math.ldexp(high, -shift)
    positions = _ticks(low, high, ticks)
    # The ends are labelled with the losses themselves: taking back the log10 or the shift
    # can be off in the fourth digit.
    inner = (fmt(_power10(t) if log else math.ldexp(t, shift)) for t in positions[1:-1])
    labels = (fmt(lowest), *inner, fmt(highest)) if len(positions) > 1 else (fmt(lowest),)
    curves = tuple(Curve(one.label, xs, tuple(ys), one.markers) for one, xs, ys in kept)
    first = min(min(xs) for _, xs, _ in kept)
    last = max(max(xs) for _, xs, _ in kept)
    xlim, xticks = iteration_axis(first, last)
    return Frame(
        log, curves, _limits(low, high, log=log), positions, labels, **counts, xlim=xlim, xticks=xticks
    )


def iteration_axis(
    first: float, last: float, count: int = TICKS
) -> tuple[tuple[float, float], tuple[int, ...]]:
    """The x axis: iterations are whole numbers, so are its ticks, 1, 2 or 5 × 10^k apart
    (never 0.25 of an iteration, nor a negative one around a single point)."""
    low, high = math.floor(first), math.ceil(last)
    if high <= low:
        high = low + 1
    rough = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    start = math.ceil(low / step) * step
    ticks = tuple(range(int(start), int(high) + 1, int(step)))
    return (float(low), float(high)), ticks or (int(low),)


def _drawable(one: Series, *, log: bool) -> tuple[tuple, tuple, tuple[int, int]]:
    """The points of one series that can be drawn, and how many were not (not finite, ≤ 0).

    Runs at every new loss while the run continues, over the whole history: the points are
    checked and picked with ``map`` and ``compress``, without a loop in Python."""
    xs, ys = tuple(one.xs), tuple(one.ys)
    if len(xs) != len(ys):
        xs, ys = xs[: len(ys)], ys[: len(xs)]
    count = len(xs)
    if not (all(map(math.isfinite, ys)) and all(map(math.isfinite, xs))):
        keep = list(map(operator.and_, map(math.isfinite, xs), map(math.isfinite, ys)))
        xs, ys = tuple(compress(xs, keep)), tuple(compress(ys, keep))
    not_finite = count - len(xs)
    if log and ys and min(ys) <= 0:
        keep = list(map(partial(operator.lt, 0.0), ys))  # any number type, numpy too
        xs, ys = tuple(compress(xs, keep)), tuple(compress(ys, keep))
    return xs, ys, (not_finite, count - not_finite - len(xs))


def _shift(largest: float) -> int:
    """The power of two to divide by so the largest magnitude is near 1 (0: leave as is)."""
    if largest == 0 or TINY <= largest <= HUGE:
        return 0
    return math.frexp(largest)[1]


def _power10(exponent: float) -> float:
    """10**exponent, the largest float where that rounds past it (log10 of the largest
    float, raised back, overflows)."""
    try:
        return 10.0**exponent
    except OverflowError:
        return sys.float_info.max


def _limits(low: float, high: float, *, log: bool) -> tuple[float, float]:
    """The data's range; a flat curve gets room around it (a decade each way on log)."""
    if high > low:
        return low, high
    pad = 1.0 if log or low == 0 else abs(low) / 2
    return low - pad, high + pad


def _ticks(low: float, high: float, count: int) -> tuple[float, ...]:
    """Evenly spaced positions from the lowest value to the highest, both exactly (a flat
    curve: one tick at its value); a tick between them that is zero but for rounding
    becomes 0, so it is not labelled 5.551e-17."""
    if high <= low or count < 2:
        return (low,)
    step = (high - low) / (count - 1)
    inner = (low + step * i for i in range(1, count - 1))
    return (low, *(0.0 if abs(t) < step * 1e-9 else t for t in inner), high)


def segments(xs: tuple[float, ...], ys: tuple[float, ...]) -> list[tuple[list[float], list[float]]]:
    """A line's points in runs of consecutive iterations: no line is drawn across iterations
    the chart never saw (a listening run asleep while nobody was attached), as if it knew them."""
    runs: list[tuple[list[float], list[float]]] = []
    for x, y in zip(xs, ys):
        if not runs or x - runs[-1][0][-1] > 1:
            runs.append(([], []))
        runs[-1][0].append(x)
        runs[-1][1].append(y)
    return runs


def draw(plt, frame: Frame) -> None:
    """Put a drawable frame on a plotext plot (its figure is cleared first)."""
    plt.clear_data()
    plt.clear_figure()
    plt.xlabel("iteration")
    for curve in frame.curves:
        if curve.markers:
            plt.scatter(list(curve.xs), list(curve.ys), label=curve.label, marker="dot")
        else:
            for index, (xs, ys) in enumerate(segments(curve.xs, curve.ys)):
                plt.plot(xs, ys, label=curve.label if index == 0 else None, marker="braille")
    plt.ylim(*frame.ylim)
    plt.xlim(*frame.xlim)
    plt.xticks(list(frame.xticks), [str(t) for t in frame.xticks])
    # Labels of our own: plotext's run to 17 digits, and would show log10 of the loss.
    plt.yticks(list(frame.yticks), list(frame.ylabels))
