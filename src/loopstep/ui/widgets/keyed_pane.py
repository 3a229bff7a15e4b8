"""A scrolling pane that repaints its one Static only when what it draws has changed.

Over SSH every repaint costs bytes: a phase that leaves a pane's numbers alone (backward
for the parameters, step for the gradients) must not repaint it.
"""

from __future__ import annotations

from rich.console import RenderableType
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..view import View


class KeyedPane(VerticalScroll):
    """Subclasses say what they draw (``drawn``), how many rows it has, and how it looks."""

    PANE_TITLE = ""
    TEXT_ID = ""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = self.PANE_TITLE
        self._key: tuple | None = None
        self._rows = -1

    def compose(self):
        yield Static("", id=self.TEXT_ID)

    def on_mount(self) -> None:
        self.show(self.app.view)

    def show(self, view: View) -> None:
        if view.snapshot is None:
            return
        key = self.drawn(view)
        if key == self._key:
            return
        self._key = key
        rows = self.rows(view)
        # A new layout only when the number of rows changed: a layout pass costs more than the paint.
        self.query_one(f"#{self.TEXT_ID}", Static).update(self.draw(view), layout=rows != self._rows)
        self._rows = rows

    def drawn(self, view: View) -> tuple:
        raise NotImplementedError

    def rows(self, view: View) -> int:
        raise NotImplementedError

    def draw(self, view: View) -> RenderableType:
        raise NotImplementedError
