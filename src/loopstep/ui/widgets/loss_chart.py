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
from dataclasses import replace

from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from ...engine.snapshot import LossPoint
from ..view import View
from .chart_data import EMPTY, Frame, Series, draw, prepare
from .chart_metrics import LOSS, NOTHING, metric_series, metrics_key
from .chart_smoothing import DEFAULT

__all__ = ["LossChart", "Series"]

#: The smallest space the plot is drawn in; below it plotext's axes overlap into labels
#: that say nothing true (a y tick on the x axis row), so the chart shows a line of text.
MIN_WIDTH, MIN_HEIGHT = 20, 6
#: The fewest iterations ``[`` zooms in to.
MIN_WINDOW = 10


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
    #: Zoom: only the last this many iterations (0: all of them); ``[`` halves it, ``]`` doubles.
    window: reactive[int] = reactive(0)
    #: What it charts: the loss, or a metric over time (``chart_metrics.CHARTS``; ``g``).
    chart: reactive[str] = reactive(LOSS)
    #: The cursor's iteration (``<`` / ``>``): marked on the plot, the values there under it.
    cursor: reactive[int | None] = reactive(None)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "loss"
        self.series: dict[str, Series] = {}
        self._drawn: tuple | None = None
        self._legend: str | None = None  # the legend's text on screen
        self._history_key: tuple | None = None
        self._run_keys: set[str] = set()
        self._metrics: dict = {}
        self._metrics_key: tuple | None = None

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
        self.chart = getattr(self.app, "charted", LOSS)
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
        self.show_metrics(snapshot.metrics)

    def show_metrics(self, metrics) -> None:
        """The metrics over time (name -> points); called by the live timer too, while a
        metric is charted: cheap when nothing new arrived."""
        key = metrics_key(metrics)
        if key == self._metrics_key:
            return
        self._metrics_key = key
        self._metrics = metrics
        if self.chart != LOSS:
            self._redraw()

    def show_history(self, train: Sequence[LossPoint], val: Sequence[LossPoint]) -> None:
        """Called by the live timer too: cheap when nothing new arrived."""
        count = (len(train), len(val))
        last = train[count[0] - 1].loss if count[0] else None
        if self._history_key is not None and self._history_key[0] == count:
            if last is None or _same(self._history_key[1], last):
                return
        self._history_key = (count, last)
        self._replace_run_series(run_series(list(train[: count[0]]), list(val[: count[1]])))
        if self.chart == LOSS:  # a metric's chart does not draw the losses: nothing to redo
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

    def watch_window(self) -> None:
        self._redraw()

    def watch_chart(self) -> None:
        self.window = 0
        self._redraw()

    def watch_cursor(self) -> None:
        self._redraw()

    def move_cursor(self, step: int) -> None:
        """``<`` (step -1) / ``>`` (+1): the cursor an iteration back or on (a fortieth of the
        span shown for a long one); it starts at the last iteration, and ``>`` past the last
        takes it away."""
        xs = sorted({int(x) for one in self._shown_series() for x in one.xs})
        if not xs:
            return
        first, last = xs[0], xs[-1]
        jump = max(1, (last - first) // 40)
        if self.cursor is None:
            self.cursor = last if step < 0 else first
        elif step > 0 and self.cursor >= last:
            self.cursor = None
        else:
            self.cursor = min(max(self.cursor + step * jump, first), last)

    def _charted(self) -> list[Series]:
        """The series of what is charted now (the loss: the run's and the others beside it)."""
        if self.chart == LOSS:
            return list(self.series.values())
        return list(metric_series(self.chart, self._metrics).values())

    def zoom(self, closer: bool) -> None:
        """``[``: the last half of what is shown (down to MIN_WINDOW iterations); ``]``:
        twice as many, up to all of them."""
        span = self._span()
        shown = self.window or span
        if closer:
            self.window = max(MIN_WINDOW, shown // 2) if span > MIN_WINDOW else 0
        else:
            self.window = 0 if shown * 2 >= span else shown * 2

    def _span(self) -> int:
        """How many iterations the curves cover."""
        xs = [x for one in self._charted() for x in one.xs]
        return int(max(xs) - min(xs)) + 1 if xs else 0

    @property
    def frame(self) -> Frame:
        """What the chart draws now (or would, once mounted)."""
        nothing = NOTHING.get(self.chart, EMPTY)
        shown = self._shown_series()
        return prepare(
            shown, log=self.log_scale, smoothing=self.smoothing, nothing=nothing, cursor=self.cursor
        )

    def _shown_series(self) -> list[Series]:
        charted = self._charted()
        if not self.window:
            return charted
        last = max((max(one.xs) for one in charted if one.xs), default=0)
        since = last - self.window + 1
        return [window_of(one, since) for one in charted]

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        frame = self.frame
        key = (frame, self.size, self.window, self.chart)
        if key == self._drawn:
            return
        self._drawn = key
        zoom = f" · last {self.window} iterations (] all)" if self.window else ""
        scale = " (log scale)" if self.log_scale else ""
        # The loss is the chart everyone knows; a metric says how to get back to it.
        self.border_title = self.chart + scale + zoom + ("" if self.chart == LOSS else " · g: next chart")
        self.border_subtitle = frame.note
        empty = self.query_one("#chart-empty", Static)
        small = self.size.width < MIN_WIDTH or self.size.height < MIN_HEIGHT
        legend = self.query_one("#chart-legend", Static)
        legend.display = frame.drawable and not small
        text = frame.legend_for(self.size.width)
        if text != self._legend:  # one row high (DEFAULT_CSS): a repaint, never a layout
            legend.update(text, layout=False)
            self._legend = text
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
        draw(plot.plt, frame, self.size.width)
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


def window_of(one: Series, since: float) -> Series:
    """``one`` from iteration ``since`` on (the smoothing starts there too, as TensorBoard's
    does on a zoomed range: the curve shown is the one of the points shown)."""
    start = next((i for i, x in enumerate(one.xs) if x >= since), len(one.xs))
    return replace(one, xs=one.xs[start:], ys=one.ys[start:])
