"""Watches: each expression and its value at this pause; a value that changed since the last
pause is marked (bold, and a * that stays visible without colour)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from ...engine.summary import fmt
from ...engine.tensor_line import tensor_fields
from ..view import View
from .keyed_pane import KeyedPane
from .tensor_text import FittedLine

CHANGED = "bold underline"


class WatchPane(KeyedPane):
    DEFAULT_CSS = "WatchPane { height: auto; max-height: 8; }"
    PANE_TITLE = "watches (w edits)"
    TEXT_ID = "watch-text"

    def show(self, view: View) -> None:
        # In the wide layout the pane takes room only once there is something to watch.
        if self.has_class("optional"):
            self.display = bool(view.watches)
            if self.parent is not None:
                self.parent.set_class(bool(view.watches), "with-watches")
        super().show(view)

    def drawn(self, view: View) -> tuple:
        return tuple(
            (w.expression, w.answer.line() if w.answer is not None else None, w.changed, w.slow)
            for w in view.watches
        )

    def rows(self, view: View) -> int:
        return max(1, len(view.watches))

    def draw(self, view: View) -> Table | Text:
        return render_watches(view)


def render_watches(view: View) -> Table | Text:
    if not view.watches:
        return Text("no watches: w adds one (an expression shown at every pause)", style="dim")
    table = Table(box=None, expand=True, show_header=False, pad_edge=False, padding=(0, 1), show_edge=False)
    # The value gets the larger share: an expression may be cut (it is yours), a number never.
    table.add_column("expression", no_wrap=True, overflow="ellipsis", ratio=2, max_width=40)
    table.add_column("value", no_wrap=True, ratio=3, min_width=12)
    for watch in view.watches:
        mark = "*" if watch.changed else " "
        style = CHANGED if watch.changed else ""
        answer = watch.answer
        if answer is None:
            value = Text("(off)", style="dim")
        elif answer.error:
            value = Text(f"✗ {answer.error}", style="italic", overflow="ellipsis", no_wrap=True)
        elif answer.summary is not None:
            value = FittedLine(tensor_fields(answer.summary, grad=answer.requires_grad), style)
        elif answer.number is not None:
            value = Text(fmt(answer.number), style=style, no_wrap=True)  # 4 digits: it fits whole
        else:
            value = Text(answer.text, style=style, overflow="ellipsis", no_wrap=True)
        slow = " (slow)" if watch.slow else ""
        table.add_row(Text(f"{mark}{watch.expression}{slow}", style="bold" if watch.changed else ""), value)
    return table
