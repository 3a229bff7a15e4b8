"""The code being stepped, syntax-highlighted, with the line of the current phase marked.

A line-API scroll view: the text is highlighted once, and moving the mark repaints just
the two lines involved. A user's file may be long; the view scrolls to the marked line.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...engine.session import CodeView
from ..view import View

MARK_STYLE = Style(bold=True, reverse=True)
GUTTER_STYLE = Style(dim=True)
PLAIN = Style()


class CodePane(ScrollView, can_focus=True):
    DEFAULT_CSS = "CodePane { height: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "code"
        self._code: CodeView | None = None
        self._lines: list[Text] = []
        self._gutter = 3
        self._mark = 0  # index into _lines, -1 for none

    def on_mount(self) -> None:
        self.show(self.app.view)

    def show(self, view: View) -> None:
        code = view.code
        if code is None or code == self._code:
            return
        if self._code is None or code.text != self._code.text or code.first_line != self._code.first_line:
            self._load(code)
        else:
            self._code = code
        self._move_mark(code.line - code.first_line if code.line else -1)
        # The title names the file only: a title that changed per phase would repaint the pane.
        title = f"code · {code.path}"
        if self.border_title != title:
            self.border_title = title

    def _load(self, code: CodeView) -> None:
        self._code = code
        highlighted = Syntax(code.text, "python", theme="monokai").highlight(code.text)
        self._lines = highlighted.split("\n", allow_blank=True)
        if self._lines and not self._lines[-1].plain:
            self._lines.pop()
        last_number = code.first_line + len(self._lines) - 1
        self._gutter = len(str(last_number)) + 1
        width = max((line.cell_len for line in self._lines), default=0) + self._gutter + 2
        self.virtual_size = Size(width, len(self._lines))
        self._mark = -1
        self.refresh()

    def _move_mark(self, index: int) -> None:
        old, self._mark = self._mark, index
        if old == index:
            return
        for line in (old, index):
            if 0 <= line < len(self._lines):
                self.refresh_line(line)  # a line of the text: the view subtracts the scroll itself
        self._scroll_to_mark()

    def on_resize(self) -> None:
        self._scroll_to_mark()  # laid out only now (a first pause drawn at once): the mark in view

    def _scroll_to_mark(self) -> None:
        index = self._mark
        if not 0 <= index < len(self._lines):
            return
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if height and not (top <= index < top + height):
            self.scroll_to(y=max(0, index - height // 3), animate=False)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = y + scroll_y
        width = self.scrollable_content_region.width
        if not (0 <= index < len(self._lines)) or self._code is None:
            return Strip.blank(width, PLAIN)
        marked = index == self._mark
        number = str(self._code.first_line + index).rjust(self._gutter - 1)
        segments = [
            Segment("▶" if marked else " ", MARK_STYLE if marked else GUTTER_STYLE),
            Segment(number + " ", GUTTER_STYLE),
        ]
        line = self._lines[index]
        if marked:  # one style for the whole line: a bar, written as one run (not one per token)
            segments.append(Segment(line.plain, MARK_STYLE))
        else:
            segments.extend(line.render(self.app.console))
        # Every segment gets a style: NO_COLOR's monochrome filter cannot handle a missing one.
        segments = [Segment(text, style or PLAIN, control) for text, style, control in segments]
        strip = Strip(segments).crop(scroll_x, scroll_x + width)
        return strip.extend_cell_length(width, MARK_STYLE if marked else PLAIN)
