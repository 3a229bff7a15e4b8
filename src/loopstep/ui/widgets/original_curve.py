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
    if not points:
        if current is not None:
            del chart.series[NAME]
            chart._redraw()
        return
    series = Series("before step back", tuple(p.iteration for p in points), tuple(p.loss for p in points))
    if series != current:
        chart.set_series(NAME, series)
        chart._redraw()
