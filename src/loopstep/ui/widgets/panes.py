"""The body of the app: every pane side by side when there is room, tabs when there is not.

The layout is rebuilt when the terminal crosses the size threshold; each pane draws itself
from the app's current view when it mounts, so nothing is lost on the way.
"""

from __future__ import annotations

from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane

from ..view import View
from .code_pane import CodePane
from .diagnostics_pane import DiagnosticsPane
from .grads_pane import GradsPane
from .loss_chart import LossChart
from .params_pane import ParamsPane
from .tensors_pane import TensorsPane
from .trace_tree import TraceTree

#: The smallest terminal that gets every pane at once.
WIDE_MIN_WIDTH = 100
WIDE_MIN_HEIGHT = 32

#: The panes, in Tab order: (id, tab title, class).
PANES = (
    ("code", "code", CodePane),
    ("params", "params", ParamsPane),
    ("grads", "grads", GradsPane),
    ("chart", "loss", LossChart),
    ("tensors", "tensors", TensorsPane),
    ("trace", "trace", TraceTree),
    ("diagnostics", "diag", DiagnosticsPane),
)


def layout_for(width: int, height: int) -> str:
    return "wide" if width >= WIDE_MIN_WIDTH and height >= WIDE_MIN_HEIGHT else "tabs"


class Panes(Widget):
    DEFAULT_CSS = "Panes { height: 1fr; }"

    mode: reactive[str] = reactive("wide", recompose=True)

    def __init__(self, mode: str) -> None:
        super().__init__(id="panes")
        self.set_reactive(Panes.mode, mode)

    def compose(self):
        panes = {key: cls(id=f"pane-{key}", classes="pane") for key, _, cls in PANES}
        if self.mode == "wide":
            with Horizontal(id="wide"):
                with Vertical(id="left-column"):
                    yield panes["code"]
                    yield panes["params"]
                    yield panes["grads"]
                with Vertical(id="right-column"):
                    yield panes["chart"]
                    yield panes["tensors"]
                    yield panes["trace"]
                    yield panes["diagnostics"]
        else:
            with TabbedContent(id="tabs"):
                for key, title, _ in PANES:
                    with TabPane(title, id=f"tab-{key}"):
                        yield panes[key]

    def on_resize(self) -> None:
        self.mode = layout_for(self.app.size.width, self.app.size.height)

    def show(self, view: View) -> None:
        for widget in self.query(".pane"):
            widget.show(view)

    def show_tab(self, key: str) -> None:
        """In the tabbed layout, bring one pane to the front (no-op when all are shown)."""
        for tabs in self.query(TabbedContent):
            tabs.active = f"tab-{key}"
