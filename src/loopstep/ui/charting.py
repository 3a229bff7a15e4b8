"""The chart's keys: what it charts (``g``: the loss or a metric over time), its scale
(``l``), zoom (``[``, ``]``) and smoothing (``m``). A mixin of the app.

Charting a metric asks the engine to measure it at every iteration (``stepper.metrics.dense``);
back on the loss chart, the run pays again only for every tenth (see engine/metrics.py).
"""

from __future__ import annotations

from .widgets.chart_metrics import CHARTS, LOSS


class Charting:
    #: What the chart shows; kept across restarts.
    charted: str = LOSS

    def action_next_chart(self) -> None:
        self.charted = CHARTS[(CHARTS.index(self.charted) + 1) % len(CHARTS)]
        self._arm_metrics()
        snapshot = self.view.snapshot
        for chart in self.query("LossChart"):
            if snapshot is not None:
                chart.show_metrics(snapshot.metrics)
            chart.chart = self.charted

    def _arm_metrics(self) -> None:
        """Tell the run's metrics what the chart needs (called as a chart is picked or a run starts)."""
        stepper = self.stepper
        if stepper is None:
            return
        stepper.metrics.dense = self.charted != LOSS
        if self.charted == "update/weight":
            stepper.metrics.updates_wanted = (
                True  # the probe copies the parameters before each step from now on
            )

    def _live_metrics(self) -> None:
        """The live timer's share: a charted metric follows the run as the loss does."""
        if self.charted == LOSS or self.stepper is None:
            return
        metrics = self.stepper.metrics.frozen()  # a copy: the training thread adds to them meanwhile
        for chart in self.query("LossChart"):
            chart.show_metrics(metrics)

    def action_cursor_back(self) -> None:
        for chart in self.query("LossChart"):
            chart.move_cursor(-1)

    def action_cursor_on(self) -> None:
        for chart in self.query("LossChart"):
            chart.move_cursor(+1)

    def action_toggle_log(self) -> None:
        for chart in self.query("LossChart"):
            chart.log_scale = not chart.log_scale

    def action_zoom_in(self) -> None:
        for chart in self.query("LossChart"):
            chart.zoom(closer=True)

    def action_zoom_out(self) -> None:
        for chart in self.query("LossChart"):
            chart.zoom(closer=False)

    def action_smoothing(self) -> None:
        from .widgets.chart_smoothing import next_weight

        weight = 0.0
        for chart in self.query("LossChart"):
            chart.smoothing = next_weight(chart.smoothing)
            weight = chart.smoothing
        self.notify(f"chart smoothing: {weight:g}" if weight else "chart: raw, not smoothed", timeout=2)


def import_the_chart() -> None:
    """plotext, imported by the first chart drawn (at the first loss), took ~90 ms of that
    step; it is imported in the training thread at a pause instead (once: then it is a
    dictionary lookup), never before the first frame."""
    from .widgets import chart_plot  # noqa: F401
