"""What the loss chart hands plotext: finite, moderate numbers and a y axis decided here.

A training run produces losses plotext cannot take: on ``yscale("log")`` with nothing to
draw it has no y ticks and crashes (``power10(None)``), values whose span overflows a float
turn its canvas coordinates into NaN, and denormals overflow its log path. So plotext is
never asked for a log scale nor left to pick the y limits: ``prepare`` takes the log10
itself, brings huge or tiny values near 1 by an exact power of two, and chooses the limits,
tick positions and labels (round numbers in the original units, see ``chart_axes``). Points
that cannot be drawn (≤ 0 on a log scale, NaN, ±inf) are left out and counted, so the chart
can say so. A line is smoothed (``chart_smoothing``) over its raw points, drawn faint; each
curve has a mark of its own, so they stay apart without colour.

Nothing here imports plotext: ``draw`` only calls methods of the plot object it is given.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from itertools import compress

from ...engine.summary import fmt
from .chart_axes import linear_axis, log_axis
from .chart_smoothing import smoothed

#: Plotted magnitudes outside this range are brought near 1 by a power of two (exact):
#: plotext subtracts and divides them, which would overflow or lose the denormals.
HUGE = 1e100
TINY = 1e-100
TICKS = 5
EMPTY = "no loss yet: step past the loss phase"
#: A linear axis over losses spanning more decades than this says a log one would show them.
LOG_SUGGESTED = 2.0
#: Each line's mark in turn (the first, the training loss, a fine braille line), then each
#: point series' (validation); the raw points behind a smoothed line.
LINE_MARKS = ("braille", "•", "+", "x", "*")
POINT_MARKS = ("o", "◆", "^", "#")
RAW_MARK = "·"
#: A line of fewer points is drawn as it is: each point is an iteration one stepped through
#: and can still tell apart (the lesson's first iterations); smoothing is for long noisy runs.
SMOOTH_FROM = 20
COLOURS = ("blue+", "green+", "red+", "cyan+", "magenta+", "yellow")
FAINT = "gray"


@dataclass(frozen=True)
class Series:
    """One named curve as the run gave it (any floats, NaN and inf included)."""

    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    markers: bool = False  # points (few, e.g. one per epoch) rather than a line
    #: Points at most this many iterations apart are joined (a metric measured every 10th
    #: iteration is still one line); a wider gap is iterations the chart never saw.
    gap: int = 1
    #: Never smoothed: a learning rate's schedule, a reference line, are exact as they are.
    raw: bool = False


@dataclass(frozen=True)
class Curve:
    """A series as drawn: only the drawable points, y in plotted units."""

    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    markers: bool
    #: How its points are drawn: "braille" (a fine line) or one character, its own among the
    #: curves, so that they stay apart without colour (NO_COLOR).
    mark: str = "braille"
    #: The raw curve behind a smoothed one: grey, and not in the legend.
    faint: bool = False
    gap: int = 1  # as the series'


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
    #: The EMA weight the line curves are smoothed with (0: drawn raw).
    smoothing: float = 0.0
    #: How many decades the positive losses drawn span (0: none, or fewer than two points).
    decades: float = 0.0
    #: What the chart says while it has no point at all.
    nothing: str = EMPTY
    #: The cursor's iteration (``<`` / ``>``) and each curve's value there, raw, as one line.
    cursor: int | None = None
    at_cursor: str = ""

    @property
    def legend(self) -> str:
        """Each curve's mark and name, on one line beside the plot, never over its points."""
        return self.legend_for(None)

    def legend_for(self, width: int | None) -> str:
        """The legend in ``width`` columns: the smoothing's weight left out first, then cut;
        with a cursor, the values there instead."""
        if self.cursor is not None:
            line = self.at_cursor
            return line if width is None or len(line) <= width else line[: max(width - 1, 0)] + "…"
        shown = [f"{_glyph(c.mark)} {c.label}" for c in self.curves if not c.faint]
        if any(c.faint for c in self.curves):
            shown.append(f"{_glyph(RAW_MARK)} raw (EMA {self.smoothing:g}: m)")
        line = "  ".join(shown)
        if width is None or len(line) <= width:
            return line
        line = line.replace(f" (EMA {self.smoothing:g}: m)", "")
        return line if len(line) <= width else line[: max(width - 1, 0)] + "…"

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
        """One line saying what was left out ("" when every point is drawn), or that a
        linear axis squashes losses spanning decades (a log one would show them)."""
        parts = self._left_out()
        if not parts:
            if not self.log and self.decades > LOG_SUGGESTED:
                return f"{self.decades:.0f} decades: l for log scale"
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
            return self.nothing
        left_out = ", ".join(self._left_out())
        if self.log:
            return f"log scale: nothing to draw ({left_out}); press l for linear"
        return f"nothing to draw ({left_out})"


def _points(count: int, kind: str = "") -> str:
    return f"{count} {kind}point{'s' if count != 1 else ''}"


def _glyph(mark: str) -> str:
    return "⠤⠤" if mark == "braille" else mark * 2


def _curves(
    kept: list[tuple[Series, tuple, list[float]]], smoothing: float
) -> list[tuple[Series, tuple, list[float], str, bool]]:
    """Each series with its mark; a line of a few points or more smoothed, over its raw
    points (faint) when ``smoothing``."""
    lines, points = iter(LINE_MARKS), iter(POINT_MARKS)
    out = []
    for one, xs, ys in kept:
        mark = next(points, "o") if one.markers else next(lines, "*")
        if smoothing and not one.markers and not one.raw and len(ys) >= SMOOTH_FROM:
            out.append((one, xs, ys, RAW_MARK, True))
            # An average of positive losses is positive, but for one that rounds to 0.
            ys = [s if s > 0 or y <= 0 else y for s, y in zip(smoothed(ys, smoothing), ys)]
        out.append((one, xs, ys, mark, False))
    return out


def values_at(series: Iterable[Series], iteration: int) -> str:
    """Each curve's raw value at ``iteration`` (its last point at or before it), on one line:
    what TensorBoard shows under the mouse."""
    shown = []
    for one in series:
        at = [y for x, y in zip(one.xs, one.ys) if x <= iteration]
        if at:
            shown.append(f"{one.label} {fmt(at[-1])}")
    return f"▏iter {iteration}: " + ("  ".join(shown) if shown else "no point yet")


def prepare(
    series: Iterable[Series],
    *,
    log: bool,
    ticks: int = TICKS,
    smoothing: float = 0.0,
    nothing: str = EMPTY,
    cursor: int | None = None,
) -> Frame:
    """The frame for these series on a linear or log scale (never raises on any float);
    lines smoothed with TensorBoard's EMA of weight ``smoothing`` over their raw points;
    ``nothing``: what it says before any point; ``cursor``: an iteration to mark, its values said."""
    series = list(series)
    kept: list[tuple[Series, tuple, list[float]]] = []
    not_positive = not_finite = points = 0
    latest = []
    lowest, highest = math.inf, 0.0  # of the positive losses drawable
    for one in series:
        xs, ys, left_out = _drawable(one, log=log)
        points += len(xs) + sum(left_out)
        not_finite, not_positive = not_finite + left_out[0], not_positive + left_out[1]
        if one.ys:
            latest.append(f"{one.label} {fmt(one.ys[-1])}")
        if xs:
            kept.append((one, xs, list(map(float, ys))))
            positive = [y for y in kept[-1][2] if y > 0]
            if positive:
                lowest, highest = min(lowest, min(positive)), max(highest, max(positive))
    counts = {"not_positive": not_positive, "not_finite": not_finite, "points": points}
    counts["latest"] = tuple(latest)
    counts["nothing"] = nothing
    if cursor is not None:
        counts["cursor"], counts["at_cursor"] = cursor, values_at(series, cursor)
    counts["decades"] = (
        math.log10(highest / lowest) if highest > lowest and math.isfinite(highest / lowest) else 0.0
    )
    if not kept:
        return Frame(log, **counts)
    drawn = _curves(kept, smoothing)  # smoothed in the losses' own units, as TensorBoard does
    if log:
        drawn = [(one, xs, list(map(math.log10, ys)), mark, faint) for one, xs, ys, mark, faint in drawn]
    low, high = min(min(c[2]) for c in drawn), max(max(c[2]) for c in drawn)
    # log10 of a finite float lies in [-324, 309]: only the linear scale needs bringing near 1.
    shift = _shift(max(abs(low), abs(high))) if not log else 0
    if shift:
        drawn = [(one, xs, [math.ldexp(y, -shift) for y in ys], mark, f) for one, xs, ys, mark, f in drawn]
        low, high = math.ldexp(low, -shift), math.ldexp(high, -shift)
    axis = log_axis(low, high, ticks) if log else linear_axis(low, high, ticks, shift)
    curves = tuple(
        Curve(one.label, xs, tuple(ys), one.markers, mark, faint, one.gap)
        for one, xs, ys, mark, faint in drawn
    )
    first = min(min(xs) for _, xs, _ in kept)
    last = max(max(xs) for _, xs, _ in kept)
    xlim, xticks = iteration_axis(first, last)
    return Frame(
        log, curves, axis.limits, axis.ticks, axis.labels, **counts, xlim=xlim, xticks=xticks,
        smoothing=smoothing if any(c.faint for c in curves) else 0.0,
    )  # fmt: skip


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


def segments(
    xs: tuple[float, ...], ys: tuple[float, ...], gap: int = 1
) -> list[tuple[list[float], list[float]]]:
    """A line's points in runs at most ``gap`` iterations apart: no line is drawn across
    iterations the chart never saw (a listening run asleep while nobody was attached), as if
    it knew them."""
    runs: list[tuple[list[float], list[float]]] = []
    for x, y in zip(xs, ys):
        if not runs or x - runs[-1][0][-1] > gap:
            runs.append(([], []))
        runs[-1][0].append(x)
        runs[-1][1].append(y)
    return runs


def thinned(xs: list[float], ys: list[float], buckets: int) -> tuple[list[float], list[float]]:
    """At most each bucket's lowest and highest point, in order: all a plot ``buckets``
    dots wide can show of a line (its spikes kept), at a fraction of plotext's cost for a
    long run's thousands of points."""
    count = len(xs)
    if count <= 2 * buckets:
        return xs, ys
    out_x: list[float] = []
    out_y: list[float] = []
    per = count / buckets
    for bucket in range(buckets):
        start, end = int(bucket * per), int((bucket + 1) * per)
        if start >= end:
            continue
        window = range(start, end)
        low, high = min(window, key=ys.__getitem__), max(window, key=ys.__getitem__)
        kept = sorted(
            {low, high} | ({0} if bucket == 0 else set()) | ({count - 1} if end == count else set())
        )
        for k in kept:  # the line still starts and ends where the run's does
            out_x.append(xs[k])
            out_y.append(ys[k])
    return out_x, out_y


def draw(plt, frame: Frame, width: int = 0) -> None:
    """Put a drawable frame on a plotext plot (its figure is cleared first). No labels:
    plotext's legend sits over the first points; the chart writes :attr:`Frame.legend`.
    ``width``: the plot's columns (braille has two dots a column): a line of more points
    than it can show is thinned to what it shows (0: every point)."""
    plt.clear_data()
    plt.clear_figure()
    plt.xlabel("iteration")
    colours = iter(COLOURS)
    for curve in frame.curves:
        colour = FAINT if curve.faint else next(colours, "white")
        if curve.markers:  # one point an epoch: each one marked, joined to the next by a fine line
            plt.plot(list(curve.xs), list(curve.ys), marker="braille", color=colour)
            plt.scatter(list(curve.xs), list(curve.ys), marker=curve.mark, color=colour)
        else:
            runs = segments(curve.xs, curve.ys, curve.gap)
            for xs, ys in runs:
                if width:
                    xs, ys = thinned(xs, ys, max(2, 2 * width * len(xs) // max(len(curve.xs), 1)))
                plt.plot(xs, ys, marker=curve.mark, color=colour)
    if frame.cursor is not None:
        plt.vline(frame.cursor, FAINT)
    plt.ylim(*frame.ylim)
    plt.xlim(*frame.xlim)
    plt.xticks(list(frame.xticks), [str(t) for t in frame.xticks])
    # Labels of our own: plotext's run to 17 digits, and would show log10 of the loss.
    plt.yticks(list(frame.yticks), list(frame.ylabels))
