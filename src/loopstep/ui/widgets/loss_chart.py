"""The loss chart: training loss per iteration and validation loss per epoch, drawn by plotext.

plotext is imported when the first loss arrives, not before the app's first frame.

The chart holds any number of named series (a second run's curve can be added beside the
first), and redraws only when a series or the scale changed: plotext rebuilds the whole
canvas, so drawing on every phase would repaint it for nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from ...engine.snapshot import LossPoint
from ...engine.summary import fmt
from ..view import View


@dataclass(frozen=True)
class Series:
    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    markers: bool = False  # points (few, e.g. one per epoch) rather than a line


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
        yield Static("no loss yet: step past the loss phase", id="chart-empty")

    def _plot(self):
        """The plotext widget, created on first use."""
        found = self.query("PlotextPlot")
        if found:
            return found.first()
        from .chart_plot import ChartPlot

        self.query_one("#chart-empty").display = False
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
            if not count[0] or old[0].ys[-1] == train[count[0] - 1].loss:
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

    def _redraw(self) -> None:
        key = (tuple(self.series.values()), self.log_scale, self.size)
        if key == self._drawn or not self.is_mounted:
            return
        self._drawn = key
        self.border_title = "loss (log scale)" if self.log_scale else "loss"
        curves = []
        for series in self.series.values():
            points = [
                (x, y)
                for x, y in zip(series.xs, series.ys)
                if math.isfinite(y) and (y > 0 or not self.log_scale)
            ]
            if points:
                curves.append((series, points))
        if not curves and not self.query("PlotextPlot"):
            return  # still the placeholder
        plot = self._plot()
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.xlabel("iteration")
        plt.yscale("log" if self.log_scale else "linear")
        for series, points in curves:
            xs, ys = zip(*points)
            if series.markers:
                plt.scatter(list(xs), list(ys), label=series.label, marker="dot")
            else:
                plt.plot(list(xs), list(ys), label=series.label, marker="braille")
        if curves:
            ys = [y for _, points in curves for _, y in points]
            ticks = axis_ticks(min(ys), max(ys), log=self.log_scale)
            plt.yticks(ticks, [fmt(t) for t in ticks])  # plotext's own labels run to 17 digits
        else:
            plt.title("no loss yet: step past the loss phase")
        plot.refresh()

    def on_resize(self) -> None:
        self._drawn = None
        self._redraw()


def axis_ticks(low: float, high: float, *, log: bool, count: int = 5) -> list[float]:
    """Evenly spaced ticks (geometric on a log scale) from ``low`` to ``high``."""
    if high <= low:
        return [low]
    if log and low > 0:
        ratio = (high / low) ** (1 / (count - 1))
        return [low * ratio**i for i in range(count)]
    step = (high - low) / (count - 1)
    return [low + step * i for i in range(count)]
