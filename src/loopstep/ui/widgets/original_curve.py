"""What-if: after a step back, the loss chart keeps the curve of the run as it first went.

The engine keeps that curve (``snapshot.extra["original_losses"]``) from the first step
back until restart; this adds it to the chart as its own series beside the new one.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...engine.snapshot import LossPoint
from .chart_data import Series
from .loss_chart import LossChart

NAME = "original"


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
