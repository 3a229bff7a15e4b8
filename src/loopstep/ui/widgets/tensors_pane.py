"""The batch's tensors (x, y, pred, loss) as one-line summaries; selecting one shows its values.

Values come from the snapshot's preview, so a big tensor shows its leading elements and
says how many it leaves out.
"""

from __future__ import annotations

from rich.text import Text
from textual.containers import Vertical, VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ...engine.summary import TensorSummary
from ...engine.tensor_line import tensor_fields
from ..view import View
from .tensor_text import FittedLine, column_format, tensor_line

#: Most values printed by the viewer; numpy elides the middle of anything bigger.
SHOWN_VALUES = 400


class TensorsPane(Vertical):
    DEFAULT_CSS = """
    TensorsPane { height: 1fr; }
    TensorsPane OptionList { height: auto; max-height: 6; border: none; padding: 0; }
    TensorsPane #tensor-values { height: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "tensors (enter shows values)"
        self._key: tuple | None = None
        self._tensors: dict[str, TensorSummary] = {}
        self.selected: str | None = None
        self._value_lines = -1  # lines of the values shown (-1: unknown or wrapped)
        self._values_shown: Text | None = None

    def compose(self):
        yield OptionList(id="tensor-list")
        with VerticalScroll(id="tensor-values"):
            yield Static("", id="tensor-values-text")

    def on_mount(self) -> None:
        self.show(self.app.view)

    def show(self, view: View) -> None:
        snapshot = view.snapshot
        if snapshot is None:
            return
        tensors = snapshot.tensors
        key = tuple((name, t) for name, t in tensors.items())
        if key == self._key:
            return
        self._key = key
        self._tensors = dict(tensors)
        options = self.query_one(OptionList)
        shown = [options.get_option_at_index(i).id for i in range(options.option_count)]
        if set(tensors) <= set(shown):
            # The same rows with new numbers (a tensor not computed yet keeps its row, marked):
            # rewritten in place, without a layout pass.
            for index, name in enumerate(shown):
                options.replace_option_prompt_at_index(index, prompt_for(name, tensors.get(name)))
        else:
            highlighted = options.highlighted
            options.clear_options()
            options.add_options([Option(prompt_for(name, t), id=name) for name, t in tensors.items()])
            if highlighted is not None and highlighted < len(tensors):
                options.highlighted = highlighted
        self._show_values()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.selected = event.option.id
        self._show_values()

    def _show_values(self) -> None:
        target = self.query_one("#tensor-values-text", Static)
        if self.selected is None:
            text = Text("Select a tensor to see its values.", style="dim")
        elif (summary := self._tensors.get(self.selected)) is None:
            text = Text(f"{self.selected}: not computed in this phase yet.", style="dim")
        else:
            text = Text(
                f"{self.selected} {tensor_line(summary, max(20, self.size.width - len(self.selected) - 2))}\n"
            ) + Text(values_text(summary))
        if text == self._values_shown:
            return
        self._values_shown = text
        rows = text.plain.split("\n")
        lines = len(rows) if max(len(row) for row in rows) < target.size.width else -1
        # Same number of lines, none wrapped: repaint the text, not the whole screen's layout.
        target.update(text, layout=lines < 0 or lines != self._value_lines)
        self._value_lines = lines


def prompt_for(name: str, summary: TensorSummary | None) -> Text | FittedLine:
    if summary is None:
        return Text.assemble((f"{name:<5}", "bold"), (" not computed yet in this iteration", "dim"))
    return FittedLine(tensor_fields(summary, number=column_format([summary])), name=f"{name:<5} ")


def values_text(summary: TensorSummary) -> str:
    if summary.preview is None:
        return "(values not kept)"
    import numpy as np  # here, not at import: the app's first frame does not wait for NumPy

    full = summary.values()
    if "int" in summary.dtype or "bool" in summary.dtype:  # kept as floats: shown as they are
        full = full.astype(np.int64) if full is not None else None
    with np.printoptions(threshold=SHOWN_VALUES, edgeitems=4, precision=4, suppress=True, linewidth=72):
        if full is not None:
            return np.array2string(full)
        shown = np.array2string(summary.preview[:SHOWN_VALUES])
    return f"first {min(SHOWN_VALUES, summary.preview.size)} of {summary.numel} values (flattened):\n{shown}"
