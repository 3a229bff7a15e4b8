"""Stop conditions: the run pauses where one holds. The app parses the list it gets back and
hands it to the stepper."""

from __future__ import annotations

from ...engine.breakpoints import ConditionError, GradNormBreak, parse_condition
from .list_editor import ListEditorScreen

EXAMPLES = "phase=step  iteration=40  epoch=2  nan  grad_norm>10  grad_norm[fc1.weight]>1  loss>3x_median  update_ratio>1e-2"


class BreakpointsScreen(ListEditorScreen):
    HEADING = "stop conditions: the run pauses where one holds (c continues to the next)"
    PLACEHOLDER = "add: e.g. nan, grad_norm>10 (enter)"
    EXAMPLES = f"examples: {EXAMPLES}"
    PREFIX = "break"

    def __init__(self, conditions: list[str], parameters: tuple[str, ...] = ()) -> None:
        """``parameters``: the trainable parameters' names, when the model is known, so that a
        condition naming one that does not exist is refused here rather than mid-run."""
        super().__init__(conditions)
        self.parameters = parameters

    @property
    def conditions(self) -> list[str]:
        return self.items

    def accept(self, text: str) -> str:
        try:
            condition = parse_condition(text)
        except ConditionError as exc:
            raise ValueError(str(exc)) from None
        named = condition.param if isinstance(condition, GradNormBreak) else None
        if named is not None and self.parameters and named not in self.parameters:
            some = ", ".join(self.parameters[:6])
            raise ValueError(f"{text!r}: no trainable parameter named {named!r} (some: {some})")
        return str(condition)
