"""Parameters: name, shape, value and the change made by the last step.

Small tensors are written out in full, big ones as one summary line; whatever the phase
just changed is marked (bold, underlined), which stays visible without colour.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from ..view import View
from .keyed_pane import KeyedPane
from .tensor_text import change_format, change_text, column_format, one_line, same_values, shape_text

CHANGED = "bold underline"


class ParamsPane(KeyedPane):
    DEFAULT_CSS = "ParamsPane { height: 1fr; }"
    PANE_TITLE = "parameters"
    TEXT_ID = "params-text"

    def drawn(self, view: View) -> tuple:
        # Only what this pane draws: backward fills .grad but leaves this pane as it was.
        drawn = tuple((p.name, p.shape, p.value, p.change) for p in view.snapshot.params)
        return (drawn, changed_names(view))

    def rows(self, view: View) -> int:
        return len(view.snapshot.params)

    def draw(self, view: View) -> Table | Text:
        return render_params(view)


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
    table.add_column("value", no_wrap=True, ratio=3)
    table.add_column("Δ last step", no_wrap=True, overflow="ellipsis", ratio=1)
    values = column_format(p.value for p in snapshot.params)
    changes = change_format(p.change for p in snapshot.params)
    for param in snapshot.params:
        changed = param.name in changed_now
        value = one_line(param.value, dtype=True, number=values, style=CHANGED if changed else "")
        change = Text(change_text(param.change, changes), style="" if param.change else "dim")
        table.add_row(param.name, shape_text(param.shape), value, change)
    return table
