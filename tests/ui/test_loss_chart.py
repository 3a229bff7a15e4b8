"""The loss chart on the losses a run can really produce: none, one, flat, zeros, negatives,
NaN and inf, on both scales, across restarts, scale toggles and resizes.

plotext crashed the whole app on some of them (log scale with nothing to draw: ``n``, ``l``,
``r`` in the demo). Each test here renders the plotext widget for real, in a Textual app,
and asserts it drew (``ChartPlot.error`` stays None) and that the chart says what it left out.
"""

from __future__ import annotations

from textual.app import App
from textual.widgets import Static

from loopstep.engine.snapshot import LossPoint
from loopstep.ui.view import View
from loopstep.ui.widgets.loss_chart import LossChart


class ChartApp(App):
    """The chart alone, in a border like the real app's panes."""

    CSS = "LossChart { border: round white; }"

    def __init__(self) -> None:
        super().__init__()
        self.view = View("chart test")  # the chart reads app.view when it mounts

    def compose(self):
        yield LossChart()


def points(*losses: float, start: int = 0) -> list[LossPoint]:
    return [LossPoint(start + i, 0, loss) for i, loss in enumerate(losses)]


def plot_of(chart: LossChart):
    found = chart.query("PlotextPlot")
    return found.first() if found else None


async def shown(pilot, chart: LossChart) -> str:
    """What the chart shows once Textual has painted it: the plot's text, or the line of
    text it shows instead. Fails if plotext raised while Textual rendered it."""
    await pilot.pause()
    await pilot.pause()
    plot = plot_of(chart)
    if plot is not None and plot.display:
        assert plot.error is None, plot.error  # Textual's own render of it
        text = plot.render().plain  # and once more at its size, to read it
        assert plot.error is None, plot.error
        return text
    empty = chart.query_one("#chart-empty", Static)
    assert empty.display
    return str(empty.render())


async def test_a_plotext_failure_is_a_note_in_the_chart_not_the_end_of_the_app(monkeypatch):
    app = ChartApp()
    async with app.run_test(size=(60, 15)) as pilot:
        chart = app.query_one(LossChart)
        chart.show_history(points(2.0, 1.0), [])
        await shown(pilot, chart)
        plot = plot_of(chart)

        def broken():
            raise ValueError("cannot convert float NaN to integer")

        monkeypatch.setattr(plot.plt, "build", broken)
        plot.refresh()
        await pilot.pause()
        assert app.is_running and app._exception is None
        assert plot.error == "ValueError: cannot convert float NaN to integer"
        assert plot.render().plain.startswith("chart could not be drawn (ValueError")
        monkeypatch.undo()
        chart.show_history(points(2.0, 1.0, 0.5), [])
        assert "train" in await shown(pilot, chart)  # and it draws again once plotext can
