"""Other runs beside this one on the loss chart: after a step back, the curve of the run as
it first went; after a setting changed at a pause, the what-if branch (the run as it would
have gone); after a restart, the run before it; in a replay, the recordings given with
``--compare``.

The engine keeps the first curve (``snapshot.extra["original_losses"]``) from the first step
back until restart; the compared ones are the session's (read from their files once).
"""

from __future__ import annotations

from collections.abc import Sequence

from ...engine.snapshot import LossPoint
from ...engine.what_if import Branch
from .chart_data import Series
from .loss_chart import LossChart

NAME = "original"
BRANCH = "what-if"
PREVIOUS = "previous"


def show_original(chart: LossChart, points: Sequence[LossPoint] | None) -> None:
    current = chart.series.get(NAME)
    points = where_it_differs(points or (), chart.series.get("train"))
    if not points:
        if current is not None:
            del chart.series[NAME]
            chart._redraw()
        return
    series = Series("before step back", tuple(p.iteration for p in points), tuple(p.loss for p in points))
    if series != current:
        chart.set_series(NAME, series)
        chart._redraw()


def where_it_differs(points: Sequence[LossPoint], train: Series | None) -> Sequence[LossPoint]:
    """The part of the first run's curve that the current one does not cover: from the point
    before they part (or before the current run ends) on. Drawn over an equal curve, it would
    be a legend entry for a line no one can see."""
    shown = list(zip(train.xs, train.ys)) if train is not None else []
    same = 0
    while same < min(len(points), len(shown)) and (points[same].iteration, points[same].loss) == shown[same]:
        same += 1
    if same == len(points):
        return ()
    return points[max(same - 1, 0) :]


def show_branch(chart: LossChart, branch: Branch | None) -> None:
    """A what-if branch's curve, from the point before it parts from the run's (None: none)."""
    _show_beside(chart, BRANCH, branch.label if branch else "", branch.curve if branch else ())


def show_previous(chart: LossChart, points: Sequence[LossPoint]) -> None:
    """After a restart, the run before it, where the new one has not drawn the same curve."""
    _show_beside(chart, PREVIOUS, "previous run", points)


def _show_beside(chart: LossChart, key: str, label: str, curve: Sequence[LossPoint]) -> None:
    current = chart.series.get(key)
    points = where_it_differs(curve, chart.series.get("train"))
    if not points:
        if current is not None:
            del chart.series[key]
            chart._redraw()
        return
    series = Series(label, tuple(p.iteration for p in points), tuple(p.loss for p in points))
    if series != current:
        chart.set_series(key, series)
        chart._redraw()


def show_compared(chart: LossChart, compared: Sequence[tuple[str, Sequence[LossPoint]]]) -> None:
    """Each compared run's training curve, named after it (drawn once: they do not change)."""
    changed = False
    for name, points in compared:
        series = Series(name, tuple(p.iteration for p in points), tuple(p.loss for p in points))
        if chart.series.get(f"compare:{name}") != series:
            chart.set_series(f"compare:{name}", series)
            changed = True
    if changed:
        chart._redraw()
