"""Pictures of the app on linreg (NumPy) after each kind of phase, at 80x24 and 120x40.

The training thread is waited on before each picture, so the pictures are deterministic.
Update them with ``pytest tests/ui/test_snapshots.py --snapshot-update`` after a deliberate change.
"""

from __future__ import annotations

import pytest

SIZES = [(80, 24), (120, 40)]


def steps(ui, app, keys, tab=None):
    async def run_before(pilot):
        await ui.started(app, pilot)
        for key in keys:
            await ui.press_step(app, pilot, key)
        if tab is not None:
            app.query_one("#panes").show_tab(tab)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_after_forward(snap_compare, ui, size):
    app = ui.linreg_app()
    assert snap_compare(app, terminal_size=size, run_before=steps(ui, app, "s"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_after_backward(snap_compare, ui, size):
    app = ui.linreg_app()
    assert snap_compare(app, terminal_size=size, run_before=steps(ui, app, "ns" + "ss", tab="grads"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_after_step(snap_compare, ui, size):
    app = ui.linreg_app()
    assert snap_compare(app, terminal_size=size, run_before=steps(ui, app, "nssss", tab="params"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_zero_grad_off(snap_compare, ui, size):
    """Three iterations without zero_grad, then the fourth backward: .grad sums 4 passes."""
    app = ui.linreg_app(zero_grad=False)
    assert snap_compare(app, terminal_size=size, run_before=steps(ui, app, "nnnsss", tab="grads"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(
    "presses", [0, 1, 2, 3, 4], ids=["loss", "grad_norm", "layers", "update_ratio", "lr"]
)
def test_each_metric_chart_without_colour(snap_compare, ui, size, presses, monkeypatch):
    """Eight iterations stepped, then g to the chart; NO_COLOR: the marks tell the curves apart."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = ui.linreg_app()
    before = steps(ui, app, "n" * 8, tab="chart")

    async def run_before(pilot):
        await before(pilot)
        for _ in range(presses):
            await pilot.press("g")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
