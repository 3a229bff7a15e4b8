"""Every number a pane renders is the engine's: at each pause of each scenario and backend
(and of a script run by `loopstep run`), the cells of the parameters, gradients and tensors
panes, the status line, the sentence and the chart are read back and checked against the
snapshot the engine handed out."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from textual.widgets import OptionList

from loopstep.engine.phases import Phase
from loopstep.engine.summary import TensorSummary
from loopstep.scenarios import scenario_session
from loopstep.ui.app import LoopstepApp
from loopstep.ui.view import RunView
from loopstep.ui.widgets.grads_pane import render_grads
from loopstep.ui.widgets.loss_chart import LossChart
from loopstep.ui.widgets.params_pane import render_params
from loopstep.ui.widgets.status_line import StatusLine
from loopstep.ui.widgets.tensor_text import INLINE_NUMEL

NUMBER = re.compile(r"-?inf|nan|-?\d+(?:\.\d+)?(?:e[+-]\d+)?")
SCRIPTS = Path(__file__).parents[1] / "scripts"


def numbers(text: str) -> list[float]:
    return [float(t) for t in NUMBER.findall(text)]


def close(shown: float, true: float) -> bool:
    """A number written with 4 significant digits (or as a whole number) stands for ``true``."""
    if math.isnan(true) or math.isinf(true):
        return shown == true or (math.isnan(shown) and math.isnan(true))
    if true == 0:
        return shown == 0
    return abs(shown - true) <= 6e-4 * abs(true) + 1e-300


def check_summary_cell(cell: str, summary: TensorSummary | None, what: str) -> None:
    """A cell written by tensor_text.one_line / short / grad_look for ``summary``."""
    if summary is None:
        assert cell in ("None", "—"), (what, cell)
        return
    if "zero" in cell:  # "all zeros", "0 (zeroed)"
        assert summary.zeros, (what, cell)
        return
    flags = re.findall(r"(\d+) (NaN|Inf)!", cell)
    assert {kind: int(n) for n, kind in flags} == {
        k: v for k, v in (("NaN", summary.nan), ("Inf", summary.inf)) if v
    }, (what, cell)
    body = re.sub(r"\d+ (NaN|Inf)!", "", cell)
    body = re.sub(r"^\w+\d* ", "", body) if body.startswith(("float", "int", "bfloat")) else body
    shown = numbers(body)
    values = summary.values()
    if values is not None and summary.numel <= INLINE_NUMEL:
        true = [float(v) for v in values.reshape(-1)]
    else:  # x∈[min, max] μ σ ‖x‖
        true = [summary.min, summary.max, summary.mean, summary.std, summary.norm]
    assert len(shown) == len(true) and all(close(s, t) for s, t in zip(shown, true)), (what, cell, true)


def cells(table, column: int) -> list[str]:
    return [str(cell) for cell in table.columns[column]._cells]


def check_params(view) -> None:
    snapshot = view.snapshot
    table = render_params(view)
    if not snapshot.params:
        return
    names, values, changes = cells(table, 0), cells(table, 2), cells(table, 3)
    assert names == [p.name for p in snapshot.params]
    for param, value, change in zip(snapshot.params, values, changes):
        check_summary_cell(value, param.value, f"value of {param.name}")
        if param.change is None:
            assert change == "—"
        elif change.startswith("‖Δ‖="):
            assert close(numbers(change)[0], param.change.norm), (param.name, change)
        else:
            check_summary_cell(change, param.change, f"Δ of {param.name}")


def check_grads(view) -> None:
    snapshot = view.snapshot
    table = render_grads(view).renderables[-1]
    names, batch, stored, norms, passes = (cells(table, i) for i in range(5))
    assert names == [p.name for p in snapshot.params]
    for i, param in enumerate(snapshot.params):
        check_summary_cell(batch[i], param.batch_grad, f"this batch's grad of {param.name}")
        check_summary_cell(stored[i], param.grad, f".grad of {param.name}")
        if param.grad is None:
            assert norms[i] == "—" and passes[i] == "—"
        else:
            assert close(numbers(norms[i])[0], param.grad.norm), (param.name, norms[i])
            assert int(passes[i]) == param.grad_passes
    # The run's count is the most any .grad holds (a GAN's netD holds more passes than netG).
    held = [p.grad_passes for p in snapshot.params if p.grad is not None]
    assert snapshot.grad_passes == (max(held) if held else 0)


def check_tensors(app, view) -> None:
    options = app.query_one("#tensor-list", OptionList)
    shown = {
        options.get_option_at_index(i).id: str(options.get_option_at_index(i).prompt)
        for i in range(options.option_count)
    }
    for name, summary in view.snapshot.tensors.items():
        line = shown[name]
        if summary.shape:
            assert "tensor[" + ",".join(map(str, summary.shape)) + "]" in line, (name, line)
        if summary.numel == 1:
            assert close(numbers(line)[-1], summary.mean), (name, line)
        elif not summary.zeros:
            low, high, mean = numbers(line.split("x∈", 1)[1])[:3]
            assert close(low, summary.min) and close(high, summary.max) and close(mean, summary.mean), line


def check_status(app, view) -> None:
    text = str(app.query_one(StatusLine)._shown)
    event = view.snapshot.event
    if event is not None:
        found = re.search(r"epoch (\d+) · batch (\d+) · iter (\d+)|e(\d+) b(\d+) i(\d+)", text)
        got = [int(g) for g in found.groups() if g is not None]
        assert got == [event.epoch, event.batch, event.iteration], text
    assert f"zero_grad: {'ON' if view.zero_grad else 'OFF'}" in text
    mode = f"{view.snapshot.model_mode}{' · ' if ' · ' in text else '·'}"
    assert mode + ("grad" if view.snapshot.grad_enabled else "no_grad") in text, text


def check_sentence_and_chart(app, view) -> None:
    snapshot = view.snapshot
    sentence = app.query_one("#explain-line")._shown
    if snapshot.event is not None and snapshot.event.phase is Phase.LOSS:
        assert close(numbers(sentence.split(" = ", 1)[1])[0], snapshot.loss), sentence
    if snapshot.event is not None and snapshot.event.phase is Phase.VALIDATE and snapshot.loss is None:
        assert "computed no loss" in sentence, sentence  # sampling under no_grad
    elif snapshot.event is not None and snapshot.event.phase is Phase.VALIDATE:
        assert close(numbers(sentence.split("val loss = ", 1)[1])[0], snapshot.loss), sentence
        assert f"{snapshot.model_mode}() mode" in sentence
    chart = app.query_one(LossChart)
    drawn = {(s.markers, s.xs, s.ys) for s in chart.series.values() if s.xs}
    for markers, points in ((False, snapshot.losses), (True, snapshot.val_losses)):
        for name in {p.series for p in points}:
            mine = [p for p in points if p.series == name]
            curve = (markers, tuple(p.iteration for p in mine), tuple(p.loss for p in mine))
            assert curve in drawn, (name, curve, drawn)
    assert len(drawn) == len(
        {("t", p.series) for p in snapshot.losses} | {("v", p.series) for p in snapshot.val_losses}
    )


async def walk(app, pilot, ui, keys: str) -> int:
    """Press each key, and at every pause read every pane back against the snapshot."""
    checked = 0
    await ui.started(app, pilot)
    for key in keys:
        await ui.press_step(app, pilot, key)
        view = app.view
        assert view.state is RunView.PAUSED and view.snapshot is not None
        check_params(view)
        check_grads(view)
        check_tensors(app, view)
        check_status(app, view)
        check_sentence_and_chart(app, view)
        checked += 1
    return checked


CASES = {
    "linreg numpy": (lambda: scenario_session("linreg", "numpy"), "s" * 12 + "e" + "s" * 6),
    "linreg numpy, zero_grad off": (lambda: scenario_session("linreg", "numpy", zero_grad=False), "s" * 17),
    "linreg torch": (lambda: scenario_session("linreg", "torch"), "s" * 12 + "e" + "s" * 6),
    "mlp torch": (lambda: scenario_session("mlp", "torch"), "s" * 11 + "e" + "s" * 6),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
async def test_every_pane_shows_the_snapshot(ui, case):
    make, keys = CASES[case]
    app = LoopstepApp(make())
    async with app.run_test(size=(120, 40)) as pilot:
        assert await walk(app, pilot, ui, keys) == len(keys)


async def test_every_pane_shows_the_snapshot_of_a_script(ui):
    from loopstep.backends.torch.intercept import script_session

    app = LoopstepApp(script_session(str(SCRIPTS / "plain_loop.py")))
    async with app.run_test(size=(120, 40)) as pilot:
        assert await walk(app, pilot, ui, "s" * 11 + "e" + "s" * 4) == 16
