"""The status line: where the run is and how it is set up, in one row.

A widget rather than the app title: changing the title repaints the whole screen.
"""

from __future__ import annotations

from rich.text import Text

from ...engine.lookback import LOOKING_BACK
from ...engine.phases import PhaseEvent
from ...engine.summary import count
from ..view import RunView, View
from .cell_update import CellUpdateStatic


class StatusLine(CellUpdateStatic):
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
        text = render_status(view, event, mode, grad, self.size.width)
        if text != self._shown:
            self._shown = text
            self.update_cells(text)

    def on_resize(self) -> None:
        if self._last is not None:
            self._put(*self._last)


#: From the widest to the narrowest: (short position, the phase named, field separator).
LAYOUTS = ((False, True, " │ "), (False, False, " │ "), (True, False, " │ "), (True, False, "│"))
#: A title is cut to no fewer characters than this before the other fields shorten.
TITLE_AT_LEAST = 12


def render_status(view: View, event: PhaseEvent | None, mode: str, grad: str, width: int) -> Text:
    """The run's state, where it is, the settings, the mode: fields apart, never run together.

    The run's own name comes first but gives way: as the width shrinks, the phase (which the
    phase bar below shows too) goes first, then the words shorten, and a long title is cut,
    so that at 80 columns the state, the position and the settings stay in view.
    """
    looking_back = view.snapshot.extra.get(LOOKING_BACK) if view.snapshot is not None else None
    state = view.loading_text if view.state is RunView.LOADING else view.state.value
    if looking_back:
        state_field = (f" look back −{looking_back} ", "bold reverse")
    else:
        failed = view.state is RunView.FAILED
        state_field = (f" {state} ", "bold reverse") if failed else (state, "bold")
    zero_grad = (
        "zero_grad: " + ("ON" if view.zero_grad else "OFF"),
        "" if view.zero_grad else "bold reverse",
    )
    errors = sum(f.severity == "error" for f in view.findings)
    # A torchrun job's rank shown stays whole when the title is cut.
    rank = f" · rank {view.rank[0]}/{view.rank[1]}" if view.rank is not None else ""
    if view.rank is not None and view.rank[0] < len(view.rank_names):
        rank = f" · {view.rank_names[view.rank[0]]} (R: the other)"
    for compact, with_phase, separator in LAYOUTS:
        if event is None:
            where = "start"
        elif compact:
            where = f"e{event.epoch} b{event.batch} i{event.iteration}"
        else:
            where = f"epoch {event.epoch} · batch {event.batch} · iter {event.iteration}"
        if event is not None and with_phase:
            where += f" · after {event.phase.value}"
        fields = [
            state_field,
            (where, ""),
            zero_grad,
            (f"{mode}·{grad}" if compact else f"{mode} · {grad}", ""),
        ]
        if view.modified:
            fields.insert(3, ("modified" if compact else "modified by you", "bold reverse"))
        if view.findings:
            found = f"⚠ {len(view.findings)}" if compact else f"⚠ {count(len(view.findings), 'finding')}"
            fields.append((found + (f" ({count(errors, 'error')})" if errors else ""), "bold"))
        rest = sum(len(text) + len(separator) for text, _ in fields) + 2
        if rest + min(len(view.title), TITLE_AT_LEAST) + len(rank) <= width:
            break
    room = max(TITLE_AT_LEAST, width - rest - len(rank))
    title = (view.title if len(view.title) <= room else view.title[: room - 1] + "…") + rank
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f" {title} ", style="bold reverse")
    for value, style in fields:
        text.append(separator, style="dim")
        text.append(value, style=style)
    return text
