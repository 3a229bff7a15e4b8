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

__all__ = ["LossChart", "Series"]

#: The smallest space the plot is drawn in; below it plotext's axes overlap into labels
#: that say nothing true (a y tick on the x axis row), so the chart shows a line of text.
MIN_WIDTH, MIN_HEIGHT = 20, 6


class LossChart(Widget):
    DEFAULT_CSS = """
    LossChart { height: 1fr; }
    LossChart PlotextPlot { height: 1fr; }
    LossChart #chart-empty { height: 1fr; content-align: center middle; color: $text-muted; }
    """

    log_scale: reactive[bool] = reactive(False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "loss"
        self.series: dict[str, Series] = {}
        self._drawn: tuple | None = None

    def compose(self):
        yield Static(EMPTY, id="chart-empty")

    def _plot(self):
        """The plotext widget, created on first use."""
        found = self.query("PlotextPlot")
        if found:
            return found.first()
        from .chart_plot import ChartPlot

        plot = ChartPlot()
        # Terminal default colours: a themed background would be re-sent with every cell.
        plot.theme = "clear"
        self.mount(plot)
        return plot

    def on_mount(self) -> None:
        self.show(self.app.view)

    def show(self, view: View) -> None:
        snapshot = view.snapshot
        if snapshot is None:
            self.set_series("train", Series("train", (), ()))
            self.set_series("val", Series("val", (), (), markers=True))
            self._redraw()
            return
        self.show_history(snapshot.losses, snapshot.val_losses)

    def show_history(self, train: Sequence[LossPoint], val: Sequence[LossPoint]) -> None:
        """Called by the live timer too: cheap when nothing new arrived."""
        count = (len(train), len(val))
        old = self.series.get("train"), self.series.get("val")
        if old[0] is not None and old[1] is not None and (len(old[0].xs), len(old[1].xs)) == count:
            if not count[0] or _same(old[0].ys[-1], train[count[0] - 1].loss):
                return
        train, val = list(train[: count[0]]), list(val[: count[1]])
        self.set_series(
            "train", Series("train", tuple(p.iteration for p in train), tuple(p.loss for p in train))
        )
        self.set_series(
            "val",
            Series("val (epoch end)", tuple(p.iteration for p in val), tuple(p.loss for p in val), True),
        )
        self._redraw()

    def set_series(self, name: str, series: Series) -> None:
        """Add or replace one curve; call ``_redraw`` (or let a scale change) to draw it."""
        self.series[name] = series

    def watch_log_scale(self) -> None:
        self._redraw()

    @property
    def frame(self) -> Frame:
        """What the chart draws now (or would, once mounted)."""
        return prepare(self.series.values(), log=self.log_scale)

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


def _same(a: float, b: float) -> bool:
    """Equal, NaN counting as equal to NaN (a run stuck at NaN has nothing new to draw)."""
    return a == b or (math.isnan(a) and math.isnan(b))
