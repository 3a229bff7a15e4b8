"""Help: every key, and what each phase does to the numbers."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..keys import KEYS, NAVIGATION_HELP, PHASE_HELP


def help_text() -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2), expand=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row(Text("Keys", style="bold underline"), "")
    for key in KEYS:
        table.add_row(key.label_keys or key.keys.replace(",", " / "), key.help)
    for keys, text in NAVIGATION_HELP:
        table.add_row(keys, text)
    table.add_row("", "")
    table.add_row(Text("Phases", style="bold underline"), "")
    for phase, text in PHASE_HELP.items():
        table.add_row(phase.value, text)
    table.add_row("", "")
    table.add_row("", Text("escape, ? or q closes this help", style="dim"))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,question_mark,q", "close", "close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 96; height: 90%; max-height: 32;
        border: heavy $accent; background: $surface; padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "loopstep help"
            yield Static(help_text(), id="help-text")

    def action_close(self) -> None:
        self.dismiss()
