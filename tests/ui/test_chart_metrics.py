"""``g``: the chart shows a metric over time instead of the loss. What it draws is checked
against the run's own numbers (the snapshot's metrics, the parameters' gradient norms)."""

from __future__ import annotations

import math

import pytest

from loopstep.engine.summary import fmt
from loopstep.ui.view import RunView
from loopstep.ui.widgets.chart_metrics import CHARTS, UPDATE_RULE
from loopstep.ui.widgets.loss_chart import LossChart


def drawn(chart: LossChart) -> dict[str, tuple]:
    """Each curve the chart draws, by label: (iterations, values in the metric's units)."""
    return {c.label: (c.xs, c.ys) for c in chart.frame.curves if not c.faint}


async def test_g_goes_through_every_chart_and_each_draws_the_runs_numbers(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, "n", times=4)
        chart = app.query_one(LossChart)
        snapshot = app.view.snapshot
        metrics = snapshot.metrics
        await pilot.press("g")
        assert chart.chart == "grad norm" and chart.border_title == "grad norm · g: next chart"
        [(xs, ys)] = drawn(chart).values()
        assert xs == (0, 1, 2, 3) and ys == tuple(p.value for p in metrics["grad_norm"])
        await pilot.press("g")
        assert set(drawn(chart)) == {"w", "b"}
        for name, (_, ys) in drawn(chart).items():
            assert ys == tuple(p.value for p in metrics[f"grad_norm[{name}]"])
        total = [math.hypot(w, b) for w, b in zip(drawn(chart)["w"][1], drawn(chart)["b"][1])]
        assert total == pytest.approx([p.value for p in metrics["grad_norm"]])
        await pilot.press("g")
        assert chart.chart == "update/weight"
        curves = drawn(chart)
        assert curves["‖Δθ‖/‖θ‖"][1] == tuple(p.value for p in metrics["update_ratio"])
        assert set(curves["1e-3 rule of thumb"][1]) == {UPDATE_RULE}
        await pilot.press("g")
        assert drawn(chart) == {"lr": ((0, 1, 2, 3), (0.1,) * 4)}
        await pilot.press("g")
        assert chart.chart == "watches" and chart.frame.empty_text.startswith("no watch gave a number")
        await pilot.press("g")
        assert chart.chart == "loss" == CHARTS[0] and "train" in drawn(chart)


async def test_a_charted_metric_follows_a_continuing_run_at_every_iteration(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await pilot.press("g")
        await pilot.press("c")
        await ui.wait_for(pilot, lambda: app.view.state is RunView.FINISHED, "the run's end")
        await pilot.pause()
        chart = app.query_one(LossChart)
        [(xs, ys)] = [(c.xs, c.ys) for c in chart.frame.curves if c.faint]  # the raw points behind the EMA
        assert xs == tuple(range(200))  # measured at each iteration, not every tenth
        assert ys == tuple(p.value for p in app.stepper.metrics.series["grad_norm"])


async def test_back_on_the_loss_chart_the_run_measures_only_every_tenth_iteration(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        for _ in CHARTS:
            await pilot.press("g")
        assert app.charted == "loss" and not app.stepper.metrics.dense
        await pilot.press("c")
        await ui.wait_for(pilot, lambda: app.view.state is RunView.FINISHED, "the run's end")
        assert [p.iteration for p in app.stepper.metrics.series["grad_norm"]] == list(range(0, 200, 10))


async def test_the_watches_chart_draws_each_watch_that_gives_a_number_at_the_pauses_it_was_seen(ui):
    from dataclasses import replace

    from loopstep.scenarios.base import scenario_session
    from loopstep.ui.app import LoopstepApp

    app = LoopstepApp(replace(scenario_session("linreg", "numpy"), watches=("L", "x.shape")))
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, "n", times=3)
        await ui.press_step(app, pilot, "s", times=2)  # iteration 3's loss phase
        for _ in CHARTS[: CHARTS.index("watches")]:
            await pilot.press("g")
        chart = app.query_one(LossChart)
        assert chart.chart == "watches"
        losses = app.view.snapshot.losses
        # x.shape is no number: not charted; L as the last pause of each iteration saw it
        assert [v.answer.number for v in app.view.watches if v.expression == "L"] == [losses[3].loss]
        assert drawn(chart) == {"L": ((0, 1, 2, 3), tuple(p.loss for p in losses[:4]))}


async def test_the_cursor_says_every_curves_value_at_its_iteration(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, "n", times=6)
        chart = app.query_one(LossChart)
        losses = app.view.snapshot.losses
        await pilot.press("less_than_sign")
        assert chart.cursor == 5
        assert chart.frame.legend_for(120) == f"▏iter 5: train {fmt(losses[5].loss)}"
        await pilot.press("less_than_sign", "less_than_sign")
        assert chart.cursor == 3 and f"train {fmt(losses[3].loss)}" in chart.frame.legend_for(120)
        await pilot.press("g")  # the cursor stays where it is on every chart
        norms = app.view.snapshot.metrics["grad_norm"]
        assert chart.frame.legend_for(120) == f"▏iter 3: ‖grad‖ (all parameters) {fmt(norms[3].value)}"
        await pilot.press("greater_than_sign", "greater_than_sign", "greater_than_sign")
        assert chart.cursor is None and "⠤⠤ ‖grad‖" in chart.frame.legend_for(120)  # past the last: gone


async def test_a_metric_chart_builds_no_frame_when_only_the_losses_changed(ui, monkeypatch):
    """The live timer hands the chart new losses a dozen times a second: on a metric's chart
    they change nothing drawn, and no frame (smoothing 2,000 points) is built for them."""
    from loopstep.ui.widgets import loss_chart

    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, "n")
        await pilot.press("g")
        chart = app.query_one(LossChart)
        built = []
        real = loss_chart.prepare
        monkeypatch.setattr(loss_chart, "prepare", lambda *a, **k: (built.append(1), real(*a, **k))[1])
        await ui.press_step(app, pilot, "s", times=2)  # forward, loss: the losses change, no metric does
        assert built == []
        await ui.press_step(app, pilot, "s", times=2)  # backward, step: the grad norm gets a point
        assert built and chart.chart == "grad norm"
