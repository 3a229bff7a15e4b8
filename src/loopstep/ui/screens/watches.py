"""Watch expressions: evaluated at every pause and shown in the watch pane, a changed value
marked. Only expressions that read the run are accepted."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import OptionList

from ...engine.watches import WatchError, check_watch
from .list_editor import ListEditorScreen


class WatchesScreen(ListEditorScreen):
    HEADING = "watches: evaluated at every pause, in the training frame (kept across r)"
    PLACEHOLDER = "add: e.g. loss.item(), model.fc1.weight.grad.norm() (enter)"
    EXAMPLES = (
        "examples: loss.item()  x.shape  (pred.argmax(1) == y).float().mean()  optimizer.param_groups[0]['lr']\n"
        "space switches the selected watch off or on"
    )
    PREFIX = "watch"
    BINDINGS = [Binding("space", "toggle", "on/off", show=False)]

    def on_mount(self) -> None:
        super().on_mount()
        self._mark_off()

    def action_toggle(self) -> None:
        """Switch the selected watch off (not evaluated: a slow one) or on again."""
        options = self.query_one(OptionList)
        if self.focused is not options or options.highlighted is None:
            return
        self.app.watches.toggle(self.items[options.highlighted])
        self._mark_off()

    def _mark_off(self) -> None:
        options = self.query_one(OptionList)
        watches = self.app.watches
        for index, item in enumerate(self.items):
            marks = " (off)" if item in watches.disabled else ""
            marks += " (slow)" if item in watches.slow else ""
            options.replace_option_prompt_at_index(index, Text(item + marks))

    def accept(self, text: str) -> str:
        try:
            return check_watch(text)
        except WatchError as exc:
            raise ValueError(str(exc).replace("--watch ", "")) from None
