"""Post-mortem: the traceback of an error raised by the training code, kept on screen."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..view import View


class ErrorPane(VerticalScroll):
    DEFAULT_CSS = """
    ErrorPane { height: auto; max-height: 10; display: none; border: heavy $error; }
    ErrorPane.-shown { display: block; }
    """

    def __init__(self) -> None:
        super().__init__(id="error-pane")
        self.border_title = "error in the training code"
        self._shown = None

    def compose(self):
        yield Static("", id="error-text")

    def show(self, view: View) -> None:
        error = view.error
        if error is self._shown:
            return
        self._shown = error
        self.set_class(error is not None, "-shown")
        if error is not None:
            text = Text(f"{error.summary}  ({error.where})\n", style="bold")
            text.append(error.traceback.rstrip())
            self.query_one("#error-text", Static).update(text)
