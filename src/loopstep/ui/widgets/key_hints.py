"""The bottom row: the app's keys, as many as fit, and ctrl+p for the rest.

One line of text instead of Textual's Footer, which builds a widget per key and rebuilds
them all when the focus moves: that cost came before the first complete frame, and
again at each focus change. A click on a key runs its action, as in the Footer.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widgets import Static

from ..keys import KEYS

#: (key as shown, label, action) for the keys on the row, in the table's order.
HINTS: tuple[tuple[str, str, str], ...] = tuple(
    (k.keys.split(",")[0].replace("question_mark", "?"), k.label, k.action) for k in KEYS if k.footer
)
PALETTE = ("^p", "palette", "command_palette")
#: Which keys keep their place when the row is too narrow for all (80 columns fit six):
#: stepping, zero_grad, stepping back and help first; help lists the rest.
PRIORITY = ("step", "next", "continue", "toggle_zero_grad", "step_back", "help", "quit")


class KeyHints(Static):
    DEFAULT_CSS = "KeyHints { height: 1; dock: bottom; background: $footer-background; }"

    def __init__(self) -> None:
        super().__init__("", id="key-hints")
        self._spans: list[tuple[int, int, str]] = []
        self._width = -1

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            self.update(self._row(event.size.width), layout=False)

    def _row(self, width: int) -> Text:
        """The hints that fit in ``width`` columns, the palette hint always last."""
        text = Text(no_wrap=True, overflow="crop")
        self._spans = []
        palette = self._item(*PALETTE)
        room = width - palette.cell_len
        ranked = sorted(HINTS, key=lambda h: PRIORITY.index(h[2]) if h[2] in PRIORITY else len(PRIORITY))
        chosen, used = set(), 0
        for hint in ranked:
            size = self._item(*hint).cell_len
            if used + size <= room:
                chosen.add(hint)
                used += size
        for hint in HINTS:  # in the table's order, the one the help screen uses
            if hint not in chosen:
                continue
            item = self._item(*hint)
            self._spans.append((text.cell_len, text.cell_len + item.cell_len, hint[2]))
            text.append_text(item)
        text.append(" " * max(0, room - text.cell_len))
        self._spans.append((text.cell_len, text.cell_len + palette.cell_len, PALETTE[2]))
        text.append_text(palette)
        return text

    @staticmethod
    def _item(key: str, label: str, _action: str) -> Text:
        return Text.assemble((f" {key} ", "bold reverse"), f" {label} ")

    async def on_click(self, event: events.Click) -> None:
        for start, end, action in self._spans:
            if start <= event.x < end:
                event.stop()
                await self.app.run_action(action)
                return
