"""The status line: where the run is and how it is set up, in one row.

A widget rather than the app title: changing the title repaints the whole screen.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...engine.lookback import LOOKING_BACK
from ...engine.phases import PhaseEvent
from ..view import RunView, View

#: Narrower than this, the position is written e0 b3 i3.
COMPACT_BELOW = 100


class StatusLine(Static):
    DEFAULT_CSS = "StatusLine { height: 1; }"

    def __init__(self) -> None:
        super().__init__("", id="status-line")
        self._shown: Text | None = None
        self._last: tuple | None = None

    def show(self, view: View) -> None:
        snapshot = view.snapshot
        event = snapshot.event if snapshot is not None else None
        mode = snapshot.model_mode if snapshot is not None else "—"
        grad = ("grad" if snapshot.grad_enabled else "no_grad") if snapshot is not None else "—"
        self._put(view, event, mode, grad)

    def show_live(self, view: View, event: PhaseEvent | None) -> None:
        """While running freely: only the position changes."""
        snapshot = view.snapshot
        mode = snapshot.model_mode if snapshot is not None else "—"
        grad = ("grad" if snapshot.grad_enabled else "no_grad") if snapshot is not None else "—"
        self._put(view, event, mode, grad)

    def _put(self, view: View, event: PhaseEvent | None, mode: str, grad: str) -> None:
        self._last = (view, event, mode, grad)
        compact = self.size.width < COMPACT_BELOW
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {view.title} ", style="bold reverse")
        state = view.loading_text if view.state is RunView.LOADING else view.state.value
        looking_back = view.snapshot.extra.get(LOOKING_BACK) if view.snapshot is not None else None
        if looking_back:
            text.append(f" look back −{looking_back} ", style="bold reverse")
        else:
            text.append(f" {state} ", style="bold reverse" if view.state is RunView.FAILED else "bold")
        if event is None:
            text.append(" start ")
        elif compact:
            text.append(f" e{event.epoch} b{event.batch} i{event.iteration} ")
        else:
            text.append(f" epoch {event.epoch} · batch {event.batch} · iter {event.iteration} ")
        if event is not None:
            text.append(event.phase.value, style="bold")
        text.append("  zero_grad ")
        text.append("ON" if view.zero_grad else "OFF", style="bold" if view.zero_grad else "bold reverse")
        text.append(f"  {mode} · {grad}")
        if view.findings:
            errors = sum(f.severity == "error" for f in view.findings)
            label = f"{len(view.findings)} finding{'s' * (len(view.findings) != 1)}"
            text.append(
                f"  ⚠ {label}" + (f" ({errors} error{'s' * (errors != 1)})" if errors else ""), style="bold"
            )
        if text != self._shown:
            self._shown = text
            self.update(text, layout=False)

    def on_resize(self) -> None:
        if self._last is not None:
            self._put(*self._last)
