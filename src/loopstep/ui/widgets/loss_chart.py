"""The loss chart: training loss per iteration and validation loss per epoch, drawn by plotext.

plotext is imported when the first drawable loss arrives, not before the app's first frame.

The chart holds any number of named series (a second run's curve can be added beside the
first), and redraws only when what it would draw changed (a series, the scale, the size):
plotext rebuilds the whole canvas, so drawing on every phase would repaint it, over SSH
too, for nothing.

What plotext is given comes from ``chart_data.prepare``: points that cannot be drawn (≤ 0
on a log scale, NaN, ±inf) are left out and counted in the border's subtitle, and when
nothing is left to draw, or the space is too small for axes (a tab not shown has no size at
all), the chart shows a line of text instead of calling plotext at all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from ...engine.snapshot import LossPoint
from ..view import View
from .chart_data import EMPTY, Frame, Series, draw, prepare
from .chart_smoothing import DEFAULT

__all__ = ["LossChart", "Series"]

#: The smallest space the plot is drawn in; below it plotext's axes overlap into labels
#: that say nothing true (a y tick on the x axis row), so the chart shows a line of text.
MIN_WIDTH, MIN_HEIGHT = 20, 6


class LossChart(Widget):
    DEFAULT_CSS = """
    LossChart { height: 1fr; }
    LossChart PlotextPlot { height: 1fr; }
    LossChart #chart-empty { height: 1fr; content-align: center middle; color: $text-muted; }
    LossChart #chart-legend { height: 1; color: $text-muted; }
    """

    log_scale: reactive[bool] = reactive(False)
    #: TensorBoard's EMA weight for the line curves (``m`` goes through WEIGHTS; 0: raw).
    smoothing: reactive[float] = reactive(DEFAULT)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "loss"
        self.series: dict[str, Series] = {}
        self._drawn: tuple | None = None
        self._history_key: tuple | None = None
        self._run_keys: set[str] = set()

    def compose(self):
        yield Static(EMPTY, id="chart-empty")
        yield Static("", id="chart-legend")

    def _plot(self):
        """The plotext widget, created on first use."""
        found = self.query("PlotextPlot")
        if found:
            return found.first()
        from .chart_plot import ChartPlot

        plot = ChartPlot()
        # Terminal default colours: a themed background would be re-sent with every cell.
        plot.theme = "clear"
        self.mount(plot, before="#chart-legend")
        return plot

    def on_mount(self) -> None:
        self.show(self.app.view)

    def show(self, view: View) -> None:
        snapshot = view.snapshot
        if snapshot is None:
            self._replace_run_series(
                {"train": Series("train", (), ()), "val": Series("val", (), (), markers=True)}
            )
            self._redraw()
            return
        self.show_history(snapshot.losses, snapshot.val_losses)

    def show_history(self, train: Sequence[LossPoint], val: Sequence[LossPoint]) -> None:
        """Called by the live timer too: cheap when nothing new arrived."""
        count = (len(train), len(val))
        last = train[count[0] - 1].loss if count[0] else None
        if self._history_key is not None and self._history_key[0] == count:
            if last is None or _same(self._history_key[1], last):
                return
        self._history_key = (count, last)
        self._replace_run_series(run_series(list(train[: count[0]]), list(val[: count[1]])))
        self._redraw()

    def _replace_run_series(self, series: dict[str, Series]) -> None:
        """The run's own curves change; others (the curve before a step back) stay."""
        for key in [k for k in self.series if k in self._run_keys and k not in series]:
            del self.series[key]
        self._run_keys = set(series)
        self.series.update(series)

    def set_series(self, name: str, series: Series) -> None:
        """Add or replace one curve; call ``_redraw`` (or let a scale change) to draw it."""
        self.series[name] = series

    def watch_log_scale(self) -> None:
        self._redraw()

    def watch_smoothing(self) -> None:
        self._redraw()

    @property
    def frame(self) -> Frame:
        """What the chart draws now (or would, once mounted)."""
        return prepare(self.series.values(), log=self.log_scale, smoothing=self.smoothing)

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        frame = self.frame
        key = (frame, self.size)
        if key == self._drawn:
            return
        self._drawn = key
        self.border_title = "loss (log scale)" if self.log_scale else "loss"
        self.border_subtitle = frame.note
        empty = self.query_one("#chart-empty", Static)
        small = self.size.width < MIN_WIDTH or self.size.height < MIN_HEIGHT
        legend = self.query_one("#chart-legend", Static)
        legend.display = frame.drawable and not small
        legend.update(frame.legend)
        if not frame.drawable or small:
            # No plotext call at all: with nothing to draw it has no y axis to build.
            empty.update(frame.summary if frame.drawable else frame.empty_text)
            empty.display = True
            for plot in self.query("PlotextPlot"):
                plot.display = False
            return
        plot = self._plot()
        empty.display = False
        plot.display = True
        draw(plot.plt, frame)
        plot.refresh()

    def on_resize(self) -> None:
        self._drawn = None
        self._redraw()


def run_series(train: Sequence[LossPoint], val: Sequence[LossPoint]) -> dict[str, Series]:
    """The run's curves: one training curve per optimizer it steps (one, "train", for most
    runs) and one validation curve per pass ("val", "test"), each point at its iteration."""
    out: dict[str, Series] = {}
    trains = _by_series(train) or {"": []}
    for name, points in trains.items():
        key = "train" if name == "" or len(trains) == 1 else f"train:{name}"
        label = "train" if key == "train" else name
        out[key] = Series(label, tuple(p.iteration for p in points), tuple(p.loss for p in points))
    taken = {series.label for series in out.values()}
    for name, points in (_by_series(val) or {"": []}).items():
        label = name or "val"
        if label in taken:
            label += " (eval)"
        key = "val" if name == "" else f"val:{name}"
        out[key] = Series(label, tuple(p.iteration for p in points), tuple(p.loss for p in points), True)
    return out


def _by_series(points: Sequence[LossPoint]) -> dict[str, list[LossPoint]]:
    grouped: dict[str, list[LossPoint]] = {}
    for point in points:
        grouped.setdefault(point.series, []).append(point)
    return grouped


def _same(a: float, b: float) -> bool:
    """Equal, NaN counting as equal to NaN (a run stuck at NaN has nothing new to draw)."""
    return a == b or (math.isnan(a) and math.isnan(b))
