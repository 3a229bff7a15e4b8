"""A list of expressions the user keeps (stop conditions, watches): the list in force, an
input to add one, delete to remove the selected one.

Dismisses with the new list (or None when nothing changed). Subclasses say what the list
is and check each new entry (:meth:`accept`), so a bad one is refused here, in one line.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static


class ListEditorScreen(ModalScreen[list[str] | None]):
    BINDINGS = [
        Binding("escape", "close", "close"),
        Binding("delete,backspace", "remove", "remove", show=False),
    ]
    DEFAULT_CSS = """
    ListEditorScreen { align: center middle; }
    ListEditorScreen > Vertical {
        width: 90%; max-width: 100; height: auto; max-height: 90%;
        border: heavy $accent; background: $surface; padding: 0 1;
    }
    ListEditorScreen OptionList { height: auto; max-height: 10; }
    ListEditorScreen .list-error { height: auto; }
    """
    #: The first line: what the list is for.
    HEADING = ""
    PLACEHOLDER = ""
    EXAMPLES = ""
    #: The widgets' ids start with this ("break": #break-list, #break-input, #break-error).
    PREFIX = "list"

    def __init__(self, items: list[str]) -> None:
        super().__init__()
        self.items = list(items)
        self._original = list(items)

    def accept(self, text: str) -> str:
        """The entry as it is kept, or ValueError with the one line that says why not."""
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.HEADING)
            yield OptionList(*(Text(item) for item in self.items), id=f"{self.PREFIX}-list")
            yield Input(placeholder=self.PLACEHOLDER, id=f"{self.PREFIX}-input")
            yield Static("", id=f"{self.PREFIX}-error", classes="list-error")
            yield Static(
                f"{self.EXAMPLES}\nenter adds · select + delete removes · escape closes", classes="dim"
            )

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        text = message.value.strip()
        error = self.query_one(f"#{self.PREFIX}-error", Static)
        if not text:
            self.action_close()
            return
        try:
            item = self.accept(text)
        except ValueError as exc:
            error.update(Text(f"✗ {exc}"))  # Text: a condition's [name] is no markup
            return
        error.update("")
        if item not in self.items:
            self.items.append(item)
            self.query_one(OptionList).add_option(Text(item))
        message.input.value = ""

    def action_remove(self) -> None:
        options = self.query_one(OptionList)
        if self.focused is not options or options.highlighted is None:
            return
        index = options.highlighted
        del self.items[index]
        options.remove_option_at_index(index)

    def action_close(self) -> None:
        self.dismiss(self.items if self.items != self._original else None)
