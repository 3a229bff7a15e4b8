"""The phase bar: the phases of an iteration in the order the run does them (the lesson's
forward · loss · backward · step · zero_grad until the run shows its own), the one just run marked.

The mark does not rely on colour (brackets and reverse video), so it reads with NO_COLOR.
"""

from __future__ import annotations

from rich.text import Text

from ...engine.phases import TRAINING_PHASES, Phase, PhaseEvent
from ..view import View
from .cell_update import CellUpdateStatic


class PhaseBar(CellUpdateStatic):
    DEFAULT_CSS = "PhaseBar { height: 1; }"

    def __init__(self) -> None:
        super().__init__("", id="phase-bar")
        self._key: tuple | None = None

    def show(self, view: View) -> None:
        snapshot = view.snapshot
        if snapshot is None:
            self.show_event(None, TRAINING_PHASES)
        else:
            self.show_event(snapshot.event, snapshot.phase_order)

    def show_event(self, event: PhaseEvent | None, order: tuple[Phase, ...]) -> None:
        key = ((event.phase, event.skipped) if event is not None else None, order)
        if key == self._key:
            return
        self._key = key
        self.update_cells(render_bar(event, order))


def render_bar(event: PhaseEvent | None, order: tuple[Phase, ...] = TRAINING_PHASES) -> Text:
    current = event.phase if event is not None else None
    phases = list(order)
    if current is not None and current not in phases:
        phases.append(current)
    text = Text(" ", no_wrap=True, overflow="ellipsis")
    for index, phase in enumerate(phases):
        if index:
            text.append(" · ", style="dim")
        label = phase.value
        skipped = phase is Phase.ZERO_GRAD and event is not None and event.skipped and current is phase
        if skipped:
            label += " ✗ skipped"
        if phase is current:
            text.append(f"▶ {label} ◀", style="bold reverse" + (" strike" if skipped else ""))
        else:
            text.append(label)
    if current is None:
        text.append("   (nothing has run yet)", style="dim")
    return text
