"""The plotext widget of the loss chart, which cannot take the app down.

Textual calls ``render`` from its own repaint, outside any code of ours: an exception from
plotext there ends the whole debugger, and with it the run being debugged. ``chart_data``
hands plotext only inputs it is known to draw; should one still make it raise, this shows a
one-line note in the chart instead and keeps the error in ``error`` (the tests assert it
stays None).

Imported when the first drawable loss arrives, like textual_plotext itself.
"""

from __future__ import annotations

from rich.text import Text
from textual_plotext import PlotextPlot


class ChartPlot(PlotextPlot):
    error: str | None = None  # why the last render failed; None when it drew

    def render(self):
        try:
            shown = super().render()
        except Exception as exc:  # any plotext failure: see the module docstring
            self.error = f"{type(exc).__name__}: {exc}"
            return Text(f"chart could not be drawn ({self.error})", style="dim", no_wrap=True)
        self.error = None
        return shown
