"""The body of the app: every pane side by side when there is room, tabs when there is not.

The first frame shows only a placeholder here: the panes cost more to build than the rest
of the screen, and the first frame should not wait for them. The layout is rebuilt when the terminal crosses the size threshold; each pane draws itself
from the app's current view when it mounts, so nothing is lost on the way.
"""

from __future__ import annotations

from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Static, TabbedContent, TabPane

from ..view import View

#: The smallest terminal that gets every pane at once.
WIDE_MIN_WIDTH = 100
WIDE_MIN_HEIGHT = 32


def panes() -> tuple:
    """The panes, in Tab order: (id, tab title, class).

    Imported here, after the first frame: the panes pull in Pygments, plotext and most of
    the engine, which the first frame does without.
    """
    from .code_pane import CodePane
    from .diagnostics_pane import DiagnosticsPane
    from .grads_pane import GradsPane
    from .loss_chart import LossChart
    from .params_pane import ParamsPane
    from .tensors_pane import TensorsPane
    from .trace_tree import TraceTree
    from .variables_pane import VariablesPane
    from .watch_pane import WatchPane

    return (
        ("code", "code", CodePane),
        ("params", "params", ParamsPane),
        ("grads", "grads", GradsPane),
        ("chart", "loss", LossChart),
        ("tensors", "tensors", TensorsPane),
        ("trace", "trace", TraceTree),
        ("watch", "watch", WatchPane),
        ("variables", "vars", VariablesPane),
        ("diagnostics", "diag", DiagnosticsPane),
    )


def layout_for(width: int, height: int) -> str:
    return "wide" if width >= WIDE_MIN_WIDTH and height >= WIDE_MIN_HEIGHT else "tabs"


class Panes(Widget):
    DEFAULT_CSS = "Panes { height: 1fr; }"

    def __init__(self, mode: str) -> None:
        super().__init__(id="panes")
        self.mode = mode  # "pending", "wide" or "tabs"
        self.variables = False  # the variables pane is shown (v)
        self._panes: list | None = None  # the panes of this layout, once found

    def compose(self):
        if self.mode == "pending":  # the first frame: the panes are built right after it
            yield Static("starting…", id="panes-pending")
            return
        kinds = panes()
        built = {key: cls(id=f"pane-{key}", classes="pane") for key, _, cls in kinds}
        if self.mode == "wide":
            with Horizontal(id="wide"):
                with Vertical(id="left-column"):
                    yield built["code"]
                    yield built["params"]
                    yield built["grads"]
                with Vertical(id="right-column"):
                    yield built["chart"]
                    yield built["tensors"]
                    built["watch"].add_class("optional")  # shown once there is a watch
                    yield built["watch"]
                    yield built["trace"]
                    built["variables"].display = self.variables  # v: in the trace's place
                    built["trace"].display = not self.variables
                    yield built["variables"]
                    yield built["diagnostics"]
        else:
            with TabbedContent(id="tabs"):
                for key, title, _ in kinds:
                    with TabPane(title, id=f"tab-{key}"):
                        yield built[key]

    async def on_resize(self) -> None:
        if self.mode != "pending":
            await self._use(layout_for(self.app.size.width, self.app.size.height))

    async def open(self) -> None:
        """Build the panes for the terminal's size (after the first frame)."""
        await self._use(layout_for(self.app.size.width, self.app.size.height))

    async def _use(self, mode: str) -> None:
        if mode != self.mode:
            self.mode = mode
            self._panes = None
            await self.recompose()
            self._panes = None

    def show(self, view: View) -> None:
        if self._panes is None:  # found once per layout: a query at every step costs more than the draw
            self._panes = list(self.query(".pane"))
        for widget in self._panes:
            widget.show(view)

    def show_variables(self, shown: bool) -> None:
        """v: the variables pane in the trace's place (wide), or its tab brought forward."""
        self.variables = shown
        if self.mode == "wide":
            for pane in self.query("#pane-variables"):
                pane.display = shown
            for pane in self.query("#pane-trace"):
                pane.display = not shown
        elif shown:
            self.show_tab("variables")
        if shown:
            for pane in self.query("#pane-variables"):
                pane.focus_list()  # keys typed now go to the list, not to a filter nobody sees

    def show_tab(self, key: str) -> None:
        """In the tabbed layout, bring one pane to the front (no-op when all are shown)."""
        for tabs in self.query(TabbedContent):
            tabs.active = f"tab-{key}"
