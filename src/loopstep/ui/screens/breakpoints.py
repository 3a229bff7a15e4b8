"""Stop conditions: the list in force, an input to add one, delete to remove the selected one.

Dismisses with the new list of condition strings (or None when nothing changed); the app
parses them and hands them to the stepper.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static

from ...engine.breakpoints import ConditionError, GradNormBreak, parse_condition

EXAMPLES = "phase=step  iteration=40  epoch=2  nan  grad_norm>10  grad_norm[fc1.weight]>1  loss>3x_median  update_ratio>1e-2"


class BreakpointsScreen(ModalScreen[list[str] | None]):
    BINDINGS = [
        Binding("escape", "close", "close"),
        Binding("delete,backspace", "remove", "remove", show=False),
    ]
    DEFAULT_CSS = """
    BreakpointsScreen { align: center middle; }
    BreakpointsScreen > Vertical {
        width: 90%; max-width: 100; height: auto; max-height: 90%;
        border: heavy $accent; background: $surface; padding: 0 1;
    }
    BreakpointsScreen OptionList { height: auto; max-height: 10; }
    BreakpointsScreen #break-error { height: auto; }
    """

    def __init__(self, conditions: list[str], parameters: tuple[str, ...] = ()) -> None:
        """``parameters``: the trainable parameters' names, when the model is known, so that a
        condition naming one that does not exist is refused here rather than mid-run."""
        super().__init__()
        self.conditions = list(conditions)
        self._original = list(conditions)
        self.parameters = parameters

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("stop conditions: the run pauses where one holds (c continues to the next)")
            yield OptionList(*(Text(c) for c in self.conditions), id="break-list")
            yield Input(placeholder="add: e.g. nan, grad_norm>10 (enter)", id="break-input")
            yield Static("", id="break-error")
            yield Static(
                f"examples: {EXAMPLES}\nenter adds · select + delete removes · escape closes", classes="dim"
            )

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        text = message.value.strip()
        error = self.query_one("#break-error", Static)
        if not text:
            self.action_close()
            return
        try:
            condition = parse_condition(text)
        except ConditionError as exc:
            error.update(Text(f"✗ {exc}"))  # Text: a condition's [name] is no markup
            return
        named = condition.param if isinstance(condition, GradNormBreak) else None
        if named is not None and self.parameters and named not in self.parameters:
            some = ", ".join(self.parameters[:6])
            error.update(Text(f"✗ {text!r}: no trainable parameter named {named!r} (some: {some})"))
            return
        spec = str(condition)
        error.update("")
        if spec not in self.conditions:
            self.conditions.append(spec)
            self.query_one(OptionList).add_option(Text(spec))
        message.input.value = ""

    def action_remove(self) -> None:
        options = self.query_one(OptionList)
        if self.focused is not options or options.highlighted is None:
            return
        index = options.highlighted
        del self.conditions[index]
        options.remove_option_at_index(index)

    def action_close(self) -> None:
        self.dismiss(self.conditions if self.conditions != self._original else None)
