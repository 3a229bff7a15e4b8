"""Parameters: name, shape, value and the change made by the last step.

Small tensors are written out in full, big ones as one summary line; whatever the phase
just changed is marked (bold, underlined), which stays visible without colour.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..view import View
from .tensor_text import same_values, shape_text, short

CHANGED = "bold underline"


class ParamsPane(VerticalScroll):
    DEFAULT_CSS = "ParamsPane { height: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "parameters"
        self._key: tuple | None = None
        self._rows = -1

    def compose(self):
        yield Static("", id="params-text")

    def on_mount(self) -> None:
        self.show(self.app.view)

    def show(self, view: View) -> None:
        snapshot = view.snapshot
        if snapshot is None:
            return
        # Only what this pane draws: backward fills .grad but leaves this pane as it was.
        drawn = tuple((p.name, p.shape, p.value, p.change) for p in snapshot.params)
        key = (drawn, changed_names(view))
        if key == self._key:
            return
        self._key = key
        rows = len(snapshot.params)
        # A new layout only when the number of rows changed: a layout pass costs more than the paint.
        self.query_one("#params-text", Static).update(render_params(view), layout=rows != self._rows)
        self._rows = rows


def changed_names(view: View) -> frozenset[str]:
    """Parameters whose values differ from the snapshot drawn before this one."""
    if view.previous is None or view.snapshot is None:
        return frozenset()
    before = {p.name: p for p in view.previous.params}
    return frozenset(
        p.name
        for p in view.snapshot.params
        if p.name in before and not same_values(before[p.name].value, p.value)
    )


def render_params(view: View) -> Table | Text:
    snapshot = view.snapshot
    changed_now = changed_names(view)
    if not snapshot.params:
        return Text("This model has no parameters.", style="dim")
    table = Table(box=None, expand=True, pad_edge=False, padding=(0, 1), show_edge=False)
    table.add_column("name", no_wrap=True, overflow="ellipsis", max_width=28)
    table.add_column("shape", no_wrap=True)
    table.add_column("value", overflow="fold", ratio=3)
    table.add_column("Δ last step", overflow="fold", ratio=2)
    for param in snapshot.params:
        changed = param.name in changed_now
        value = Text(short(param.value), style=CHANGED if changed else "")
        change = Text(
            short(param.change) if param.change is not None else "—", style="" if param.change else "dim"
        )
        table.add_row(param.name, shape_text(param.shape), value, change)
    return table
