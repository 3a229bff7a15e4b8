"""The loss chart on the losses a run can really produce: none, one, flat, zeros, negatives,
NaN and inf, on both scales, across restarts, scale toggles and resizes.

plotext crashed the whole app on some of them (log scale with nothing to draw: ``n``, ``l``,
``r`` in the demo). Each test here renders the plotext widget for real, in a Textual app,
and asserts it drew (``ChartPlot.error`` stays None) and that the chart says what it left out.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Static

import loopstep
from loopstep.engine.snapshot import LossPoint
from loopstep.ui.view import View
from loopstep.ui.widgets import loss_chart
from loopstep.ui.widgets.chart_data import SMOOTH_FROM
from loopstep.ui.widgets.loss_chart import LossChart
from loopstep.ui.widgets.original_curve import show_original

NAN, INF = math.nan, math.inf


class ChartApp(App):
    """The chart alone, in a border like the real app's panes."""

    CSS = "LossChart { border: round white; }"

    def __init__(self) -> None:
        super().__init__()
        self.view = View("chart test")  # the chart reads app.view when it mounts

    def compose(self):
        yield LossChart()


def points(*losses: float, start: int = 0) -> list[LossPoint]:
    return [LossPoint(start + i, 0, loss) for i, loss in enumerate(losses)]


def plot_of(chart: LossChart):
    found = chart.query("PlotextPlot")
    return found.first() if found else None


async def shown(pilot, chart: LossChart) -> str:
    """What the chart shows once Textual has painted it: the plot's text, or the line of
    text it shows instead. Fails if plotext raised while Textual rendered it."""
    await pilot.pause()
    await pilot.pause()
    plot = plot_of(chart)
    if plot is not None and plot.display:
        assert plot.error is None, plot.error  # Textual's own render of it
        text = plot.render().plain  # and once more at its size, to read it
        assert plot.error is None, plot.error
        legend = chart.query_one("#chart-legend", Static)
        return text + "\n" + str(legend.render()) if legend.display else text
    empty = chart.query_one("#chart-empty", Static)
    assert empty.display
    return str(empty.render())


async def test_no_loss_yet_on_either_scale_shows_text_and_no_plot():
    app = ChartApp()
    async with app.run_test(size=(60, 15)) as pilot:
        chart = app.query_one(LossChart)
        for log in (False, True, False):
            chart.log_scale = log
            chart.show_history([], [])
            assert "no loss yet" in await shown(pilot, chart)
            assert plot_of(chart) is None  # plotext is not even created before a loss
            assert chart.border_subtitle == ""


@pytest.mark.parametrize("log", [False, True], ids=["linear", "log"])
async def test_one_point_is_drawn_with_its_value_as_the_tick(log):
    app = ChartApp()
    async with app.run_test(size=(60, 15)) as pilot:
        chart = app.query_one(LossChart)
        chart.log_scale = log
        chart.show_history(points(1.5), [])
        text = await shown(pilot, chart)
        assert "1.5" in text and "train" in text
        assert chart.frame.ylabels == ("1.5",) and chart.border_subtitle == ""


@pytest.mark.parametrize("log", [False, True], ids=["linear", "log"])
async def test_all_equal_values_get_one_tick_and_room_around_them(log):
    app = ChartApp()
    async with app.run_test(size=(60, 15)) as pilot:
        chart = app.query_one(LossChart)
        chart.log_scale = log
        chart.show_history(points(*[0.25] * 8), points(0.25, start=7))
        text = await shown(pilot, chart)
        frame = chart.frame
        assert frame.ylabels == ("0.25",) and frame.ylim[0] < frame.yticks[0] < frame.ylim[1]
        assert "0.25" in text and chart.border_subtitle == ""


async def test_zeros_drawn_on_linear_and_counted_on_log():
    app = ChartApp()
    async with app.run_test(size=(60, 15)) as pilot:
        chart = app.query_one(LossChart)
        chart.show_history(points(4.0, 0.0, 2.0, 0.0, 1.0), [])
        assert "0" in (await shown(pilot, chart)).split()
        assert chart.border_subtitle == ""
        chart.log_scale = True
        text = await shown(pilot, chart)
        assert chart.border_subtitle == "log scale: 2 points ≤ 0 not shown"
        assert chart.border_title == "loss (log scale)"
        assert "4" in text and "1" in text.split()


async def test_negative_values_drawn_on_linear_and_counted_on_log():
    app = ChartApp()
    async with app.run_test(size=(60, 15)) as pilot:
        chart = app.query_one(LossChart)
        chart.show_history(points(-3.0, -1.0, 0.5, 2.0), points(-2.0, start=3))
        text = await shown(pilot, chart)
        assert chart.frame.yticks == (-3, -2, -1, 0, 1, 2)  # round numbers, a whole step apart
        assert "-3" in text and chart.border_subtitle == ""
        chart.log_scale = True
        await shown(pilot, chart)
        assert chart.border_subtitle == "log scale: 3 points ≤ 0 not shown"


@pytest.mark.parametrize("log", [False, True], ids=["linear", "log"])
async def test_nan_and_inf_among_finite_losses_are_left_out_and_counted(log):
    app = ChartApp()
    async with app.run_test(size=(60, 15)) as pilot:
        chart = app.query_one(LossChart)
        chart.log_scale = log
        chart.show_history(points(2.0, NAN, 1.0, INF, 0.5, -INF), points(NAN, start=5))
        text = await shown(pilot, chart)
        assert chart.border_subtitle == "4 nan/inf points not shown"
        assert "nan" not in text and "inf" not in text  # the axis spans the finite values
        assert chart.frame.ylabels[0] == "0.5" and chart.frame.ylabels[-1] == "2"


@pytest.mark.parametrize("log", [False, True], ids=["linear", "log"])
async def test_only_nan_and_inf_shows_a_note_instead_of_a_plot(log):
    app = ChartApp()
    async with app.run_test(size=(60, 15)) as pilot:
        chart = app.query_one(LossChart)
        chart.show_history(points(1.0), [])  # a plot exists, then the run goes to NaN
        await shown(pilot, chart)
        chart.log_scale = log
        chart.show_history(points(NAN, INF, NAN), [])
        text = await shown(pilot, chart)
        assert "nothing to draw (3 nan/inf points)" in text
        assert not plot_of(chart).display
        assert chart.border_subtitle == "3 nan/inf points not shown"


async def test_only_values_at_or_below_zero_on_log_says_to_switch_to_linear():
    app = ChartApp()
    async with app.run_test(size=(60, 15)) as pilot:
        chart = app.query_one(LossChart)
        chart.log_scale = True
        chart.show_history(points(0.0, -1.0, NAN), [])
        text = await shown(pilot, chart)
        assert text == "log scale: nothing to draw (2 points ≤ 0, 1 nan/inf point); press l for linear"
        chart.log_scale = False
        assert "-1" in await shown(pilot, chart)
        assert chart.border_subtitle == "1 nan/inf point not shown"


@pytest.mark.parametrize("log", [False, True], ids=["linear", "log"])
async def test_restart_empties_the_chart_and_the_next_losses_draw_again(log):
    app = ChartApp()
    async with app.run_test(size=(60, 15)) as pilot:
        chart = app.query_one(LossChart)
        chart.log_scale = log
        chart.show_history(points(3.0, 0.0, 1.0), points(1.0, start=2))
        show_original(chart, points(3.0, 2.0, 1.5))
        assert "before step back" in await shown(pilot, chart)
        chart.show_history([], [])  # restart: the history starts again
        show_original(chart, None)
        text = await shown(pilot, chart)
        assert "no loss yet" in text and not plot_of(chart).display
        assert chart.border_subtitle == "" and "original" not in chart.series
        chart.show_history(points(5.0, 4.0), [])
        assert "train" in await shown(pilot, chart) and plot_of(chart).display


@pytest.mark.parametrize("log", [False, True], ids=["linear", "log"])
async def test_before_step_back_curve_alone_and_beside_the_main_one(log):
    app = ChartApp()
    async with app.run_test(size=(60, 15)) as pilot:
        chart = app.query_one(LossChart)
        chart.log_scale = log
        show_original(chart, points(2.0, 1.0, 0.0, NAN))
        text = await shown(pilot, chart)
        assert "before step back" in text and "train" not in text
        note = "log scale: 1 point ≤ 0, 1 nan/inf point not shown" if log else "1 nan/inf point not shown"
        assert chart.border_subtitle == note
        chart.show_history(points(2.0, 1.5), [])
        text = await shown(pilot, chart)
        assert "before step back" in text and "train" in text
        show_original(chart, [])
        assert "before step back" not in await shown(pilot, chart)


async def test_toggling_the_scale_many_times_keeps_drawing():
    app = ChartApp()
    async with app.run_test(size=(60, 15)) as pilot:
        chart = app.query_one(LossChart)
        chart.show_history(points(3.0, 0.0, NAN, 1.0, 1e-30, 1e30), points(2.0, start=4))
        for i in range(24):
            chart.log_scale = not chart.log_scale
            await shown(pilot, chart)
            log = i % 2 == 0
            assert chart.border_title == ("loss (log scale)" if log else "loss")
            expected = "log scale: 1 point ≤ 0, 1 nan/inf point" if log else "1 nan/inf point"
            assert chart.border_subtitle == expected + " not shown"
        chart.show_history([], [])
        for _ in range(3):
            chart.log_scale = not chart.log_scale
            assert "no loss yet" in await shown(pilot, chart)


@pytest.mark.parametrize("size", [(10, 3), (1, 1), (3, 2), (25, 8), (120, 40)], ids=str)
@pytest.mark.parametrize("log", [False, True], ids=["linear", "log"])
async def test_any_terminal_size_draws_or_says_the_last_losses(size, log):
    """Too small for axes, the chart says the last losses instead (plotext would put a y
    tick label on the x axis row there)."""
    app = ChartApp()
    async with app.run_test(size=size) as pilot:
        chart = app.query_one(LossChart)
        chart.log_scale = log
        chart.show_history(points(4.0, 0.0, NAN, 1.0), points(2.0, start=3))
        show_original(chart, points(5.0, 3.0))
        for width, height in (size, (1, 1), (10, 3), (80, 24), (2, 40), (40, 2), (22, 8), size):
            await pilot.resize_terminal(width, height)
            text = await shown(pilot, chart)
            inner = chart.size
            if inner.width >= loss_chart.MIN_WIDTH and inner.height >= loss_chart.MIN_HEIGHT:
                assert plot_of(chart).display and "┤" in text  # a y axis with its ticks
            else:
                assert text == "last: train 1, val 2, before step back 3"
        chart.show_history([], [])
        show_original(chart, None)
        assert "no loss yet" in await shown(pilot, chart)


async def test_ticks_are_round_numbers_in_their_shortest_form_and_decades_on_log():
    app = ChartApp()
    async with app.run_test(size=(60, 15)) as pilot:
        chart = app.query_one(LossChart)
        chart.show_history(points(1234567.0, 1.0), [])
        text = await shown(pilot, chart)
        assert chart.frame.ylabels == ("0", "5e+05", "1e+06", "1.5e+06")  # 5 × 10^5 apart
        assert chart.border_subtitle == "6 decades: l for log scale"
        assert "1.5e+06" in text and "5e+05" in text and "308642" not in text  # not plotext's own
        chart.log_scale = True
        text = await shown(pilot, chart)
        assert chart.frame.ylabels == ("1", "100", "1e+04", "1e+06", "1e+08")  # every 2 decades
        assert "1e+04" in text and "1e+08" in text
        assert chart.border_subtitle == ""  # shown on the scale suggested


async def test_redraws_only_when_what_it_draws_changed(monkeypatch):
    calls = []
    real = loss_chart.draw
    monkeypatch.setattr(
        loss_chart, "draw", lambda plt, frame, width=0: (calls.append(frame), real(plt, frame, width))
    )
    app = ChartApp()
    async with app.run_test(size=(60, 15)) as pilot:
        chart = app.query_one(LossChart)
        history = points(2.0, 1.0, NAN)
        chart.show_history(history, [])
        await shown(pilot, chart)
        assert len(calls) == 1
        for _ in range(3):  # the live timer hands the same history again and again
            chart.show_history(list(history), [])
            chart.log_scale = chart.log_scale
            show_original(chart, None)
            await shown(pilot, chart)
        assert len(calls) == 1
        chart.show_history([*history, LossPoint(3, 0, NAN)], [])  # a NaN more: the note changes
        await shown(pilot, chart)
        assert len(calls) == 2 and chart.border_subtitle == "2 nan/inf points not shown"
        chart.log_scale = True
        await shown(pilot, chart)
        assert len(calls) == 3
        await pilot.resize_terminal(50, 12)
        await shown(pilot, chart)
        assert len(calls) == 4


async def test_a_plotext_failure_is_a_note_in_the_chart_not_the_end_of_the_app(monkeypatch):
    app = ChartApp()
    async with app.run_test(size=(60, 15)) as pilot:
        chart = app.query_one(LossChart)
        chart.show_history(points(2.0, 1.0), [])
        await shown(pilot, chart)
        plot = plot_of(chart)

        def broken():
            raise ValueError("cannot convert float NaN to integer")

        monkeypatch.setattr(plot.plt, "build", broken)
        plot.refresh()
        await pilot.pause()
        assert app.is_running and app._exception is None
        assert plot.error == "ValueError: cannot convert float NaN to integer"
        assert plot.render().plain.startswith("chart could not be drawn (ValueError")
        monkeypatch.undo()
        chart.show_history(points(2.0, 1.0, 0.5), [])
        assert "train" in await shown(pilot, chart)  # and it draws again once plotext can


def test_importing_the_chart_does_not_load_plotext():
    """The app's first frame imports the chart's module but must not wait for plotext."""
    code = (
        "import sys, loopstep.ui.widgets.loss_chart, loopstep.ui.widgets.original_curve;"
        "print(sorted(m for m in sys.modules if 'plotext' in m))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(loopstep.__file__).parents[1])}  # these sources
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


async def test_n_l_r_in_the_demo_keeps_the_app_running(ui):
    """The reported crash: a step, log scale, restart; plotext died building an empty log axis
    (``TypeError`` in ``power10``) while Textual painted the restarted run's first pause."""
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, "n")
        chart = app.query_one(LossChart)
        await pilot.press("l")
        await pilot.pause()
        assert chart.log_scale and chart.border_title == "loss (log scale)"
        old = app.stepper
        await ui.press_step(app, pilot, "r")
        await ui.wait_for(pilot, lambda: app.stepper is not old, "the restarted run")
        await pilot.pause()
        assert app.is_running and app._exception is None
        drawn = await shown(pilot, chart)  # no loss of its own yet: the run before it, kept
        assert "previous run" in drawn and "train" not in drawn and chart.log_scale
        await ui.press_step(app, pilot, "n")  # and the new run's losses draw on the log scale
        assert "train" in await shown(pilot, chart)
        assert app.is_running and app._exception is None


async def test_m_smooths_the_runs_curve_over_its_raw_points_and_back_to_raw(ui):
    """A run of many iterations: the training curve is TensorBoard's EMA of the engine's
    losses, drawn over them (faint); ``m`` goes 0.6 → 0.9 → 0.99 → raw."""
    from loopstep.ui.widgets.chart_smoothing import smoothed

    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, "n", times=SMOOTH_FROM + 5)
        chart = app.query_one(LossChart)
        losses = [p.loss for p in app.view.snapshot.losses]
        assert len(losses) >= SMOOTH_FROM
        for weight in (0.6, 0.9, 0.99):
            await pilot.pause()
            frame = chart.frame
            raw, line = frame.curves[0], frame.curves[1]
            assert raw.faint and list(raw.ys) == losses  # the engine's numbers, as they are
            assert line.ys == pytest.approx(smoothed(losses, weight))
            assert f"EMA {weight:g}" in (await shown(pilot, chart))  # the legend says so
            await pilot.press("m")
        await pilot.pause()
        assert not any(c.faint for c in chart.frame.curves) and chart.frame.curves[0].ys == tuple(losses)


async def test_brackets_zoom_in_on_the_last_iterations_and_back_out_to_all(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, "n", times=40)
        chart = app.query_one(LossChart)
        losses = app.view.snapshot.losses
        last = losses[-1].iteration
        await pilot.press("left_square_bracket")
        await pilot.pause()
        half = (last + 1) // 2
        assert chart.window == half and f"last {half} iterations" in chart.border_title
        drawn = [x for c in chart.frame.curves for x in c.xs]
        assert min(drawn) == last - half + 1 and max(drawn) == last  # only the last half
        shown = [c for c in chart.frame.curves if c.label == "train"][-1]
        assert list(shown.ys) == [p.loss for p in losses if p.iteration > last - half]
        for _ in range(5):
            await pilot.press("left_square_bracket")
        await pilot.pause()
        assert chart.window == 10  # no closer than that
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert chart.window == 20
        for _ in range(3):
            await pilot.press("right_square_bracket")
        await pilot.pause()
        assert chart.window == 0 and chart.border_title == "loss"  # all of them again
        assert min(x for c in chart.frame.curves for x in c.xs) == 0
