"""One plain sentence about what the phase just did to the numbers on screen."""

from __future__ import annotations

from ...engine.explain import explain
from ...engine.lookback import LOOKING_BACK
from ..view import RunView, View
from .cell_update import CellUpdateStatic


class ExplainLine(CellUpdateStatic):
    # Two rows whatever the sentence: a height that changed with the text would move every
    # pane below it, and the whole screen would be repainted.
    DEFAULT_CSS = "ExplainLine { height: 2; }"

    def __init__(self) -> None:
        super().__init__("", id="explain-line")
        self._shown = ""

    def show_running(self) -> None:
        """While the run continues freely the panes keep the last pause; say so."""
        self._put(
            "running freely: the status line and the loss chart follow the run, the panes show the last pause; c pauses."
        )

    def _put(self, text: str) -> None:
        if text != self._shown:
            self._shown = text
            self.update_cells(" " + text)

    def show(self, view: View) -> None:
        if view.state is RunView.LOADING:
            text = f"{view.loading_text} The first batch appears when the run is ready."
        elif view.state is RunView.FAILED and view.error is not None:
            text = (
                f"The training code raised {view.error.summary} {view.error.where}. "
                "The last state is kept: look around, r restarts, q quits."
            )
        elif view.snapshot is None:
            text = ""
        elif view.snapshot.extra.get(LOOKING_BACK):
            text = (
                "An earlier pause, as it was shown (a script cannot be re-run): "
                "s goes forward; c, n, e go on from the live phase."
            )
        else:
            text = explain(view.previous, view.snapshot)
        self._put(text)
