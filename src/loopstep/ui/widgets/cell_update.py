"""Repainting only the cells that changed, and a Static whose update does so.

Textual repaints the whole of a widget whose content is updated, and sends every cell of
it, each with its colours. Over SSH a step's bytes are mostly such repaints: the status line
and the phase bar change by a word or two per phase, yet were sent whole (~500 bytes each).
Here the rows are rendered before and after the update and compared cell by cell; only the
span of each row that differs is repainted.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from textual.geometry import Region
from textual.strip import Strip
from textual.visual import Visual, VisualType
from textual.widget import Widget
from textual.widgets import Static


class CellUpdateStatic(Static):
    _updating = False  # update_cells is replacing the content: it says what to repaint

    def refresh(self, *regions, repaint: bool = True, layout: bool = False, recompose: bool = False):
        if self._updating and not regions and not layout and not recompose:
            return self
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def update_cells(self, content: VisualType) -> None:
        """``update(content, layout=False)``, repainting only the cells whose character or
        style changed (all of it when the widget is not on screen yet)."""
        width, height = self.size
        if not self.is_mounted or not width or not height:
            self.update(content, layout=False)
            return
        before = [self.render_line(y) for y in range(height)]
        self._updating = True
        try:
            self.update(content, layout=False)
        finally:
            self._updating = False
        # As Widget.render_line has them: the rows past the content's are blank.
        after = Visual.to_strips(self, self.visual, width, height, self.visual_style)[:height]
        blank = Strip.blank(width, self.visual_style.rich_style)
        after += [blank] * (height - len(after))
        repaint_changed(self, before, after)


def repaint_changed(widget: Widget, before: Sequence[Strip], after: Sequence[Strip]) -> None:
    """Repaint, row by row, the span where what a widget showed and what it shows now differ
    (rows counted from the top of its content region)."""
    for y, (old, new) in enumerate(zip(before, after)):
        span = changed_span(old, new)
        if span is not None:
            start, end = span
            widget.refresh(Region(start, y, end - start, 1))


def _cells(strip: Strip) -> list:
    """One entry per cell: (character, style); a wide character's second cell is (None, style)."""
    cells: list = []
    for text, style, control in strip:
        if control:
            continue
        for char in text:
            cells.append((char, style))
            if cell_len(char) == 2:
                cells.append((None, style))
    return cells


def changed_span(old: Strip, new: Strip) -> tuple[int, int] | None:
    """The first and one past the last cell where two rows differ, or None if they agree."""
    if old == new:
        return None
    a, b = _cells(old), _cells(new)
    shorter = min(len(a), len(b))
    start = next((i for i in range(shorter) if a[i] != b[i]), shorter)
    end = max(len(a), len(b))
    if len(a) == len(b):
        while end > start + 1 and a[end - 1] == b[end - 1]:
            end -= 1

    # Never half of a wide character: its second cell is None.
    def inside_wide(i: int) -> bool:
        return any(i < len(cells) and cells[i][0] is None for cells in (a, b))

    while start > 0 and inside_wide(start):
        start -= 1
    while end < max(len(a), len(b)) and inside_wide(end):
        end += 1
    return start, end
