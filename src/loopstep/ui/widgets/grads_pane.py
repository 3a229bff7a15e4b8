"""Gradients: what sits in each parameter's .grad, next to this batch's own gradient.

.grad has three looks: None (never filled or set to None), all zeros (wiped by zero_grad)
and values. With zero_grad off, .grad is a sum over backward passes; the pane says how many,
and shows the batch's own gradient beside the sum so the pile-up is plain to see.
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ...engine.snapshot import ParamState
from ...engine.summary import NumberFormat, count, number_format
from ..view import View
from .keyed_pane import KeyedPane
from .tensor_text import column_format, one_line


class GradsPane(KeyedPane):
    DEFAULT_CSS = "GradsPane { height: 1fr; }"
    PANE_TITLE = "gradients (.grad)"
    TEXT_ID = "grads-text"

    def drawn(self, view: View) -> tuple:
        # Only what this pane draws: a step moves the values but not the gradients.
        snapshot = view.snapshot
        grads = tuple((p.name, p.grad, p.batch_grad, p.grad_passes) for p in snapshot.params)
        return (grads, snapshot.grad_passes, view.zero_grad)

    def rows(self, view: View) -> int:
        snapshot = view.snapshot
        return len(snapshot.params) + (snapshot.grad_passes > 1 or not view.zero_grad)

    def draw(self, view: View) -> Group:
        return render_grads(view)


def grad_look(grad, number: NumberFormat | None = None) -> Text:
    """None, zeros and values look different, and not by colour alone."""
    if grad is None:
        return Text("None", style="italic dim")
    if grad.zeros:
        return Text("0 (zeroed)", style="dim")
    return one_line(grad, number=number, style="bold")


def render_grads(view: View) -> Group:
    snapshot = view.snapshot
    passes = snapshot.grad_passes
    parts = []
    summed = count(passes, "backward pass", "backward passes")
    if passes > 1 and not snapshot.zero_grad_on:
        parts.append(Text(f"zero_grad was skipped: .grad is now the sum of {summed}", style="bold reverse"))
    elif passes > 1:
        # The script adds passes up itself (accumulation, a GAN's real and fake halves).
        parts.append(Text(f".grad holds the sum of {summed} since its last zero_grad", style="bold"))
    elif not view.zero_grad:
        parts.append(Text("zero_grad is OFF: the next backward adds onto .grad", style="bold"))
    table = Table(box=None, expand=True, pad_edge=False, padding=(0, 1), show_edge=False)
    table.add_column("name", no_wrap=True, overflow="ellipsis", max_width=28)
    table.add_column("this batch", no_wrap=True, ratio=2)
    table.add_column(".grad (stored)", no_wrap=True, ratio=2)
    table.add_column("‖.grad‖", no_wrap=True)
    table.add_column("passes", no_wrap=True, justify="right")
    formats = (
        column_format(p.batch_grad for p in snapshot.params),
        column_format(p.grad for p in snapshot.params),
        number_format(p.grad.norm for p in snapshot.params if p.grad is not None),
    )
    for param in snapshot.params:
        table.add_row(*grad_row(param, formats))
    parts.append(table)
    return Group(*parts)


def grad_row(
    param: ParamState, formats: tuple[NumberFormat, NumberFormat, NumberFormat] | None = None
) -> tuple:
    batch_format, grad_format, norm_format = formats or (None, None, number_format([]))
    batch = (
        one_line(param.batch_grad, number=batch_format)
        if param.batch_grad is not None
        else Text("—", style="dim")
    )
    norm = norm_format(param.grad.norm) if param.grad is not None else "—"
    passes = str(param.grad_passes) if param.grad is not None else "—"
    return param.name, batch, grad_look(param.grad, grad_format), norm, passes
