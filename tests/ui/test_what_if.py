"""``z`` at a pause forks a what-if branch: the chart draws the run as it would have gone with
zero_grad still on beside the run that now goes without it (the lesson's blow-up, seen
against the curve it departs from)."""

from __future__ import annotations

from loopstep.ui.view import RunView
from loopstep.ui.widgets.loss_chart import LossChart
from loopstep.ui.widgets.original_curve import BRANCH, PREVIOUS


async def test_z_mid_run_draws_the_zero_grad_on_branch_and_the_run_without_it_ends_far_above(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        for _ in range(3):
            await pilot.press("n")
        await ui.wait_for(pilot, lambda: app.pauses_drawn >= 4, "three iterations")
        await pilot.press("z")
        await ui.wait_for(pilot, lambda: app.branch is not None, "the what-if branch")
        await pilot.press("c")
        await ui.wait_for(pilot, lambda: app.view.state is RunView.FINISHED, "the run's end")
        await pilot.pause()
        chart = app.query_one(LossChart)
        run, branch = chart.series["train"], chart.series[BRANCH]
        assert branch.label == "what-if: zero_grad on"
        assert branch.xs[0] == 2 and branch.xs[-1] == run.xs[-1]  # from the fork to the end
        assert branch.ys[0] == run.ys[0 + run.xs.index(2)]  # the same loss where they part
        assert run.ys[-1] > 10 * branch.ys[-1]  # zero_grad off: training blew apart
        labels = [curve.label for curve in chart.frame.curves if not curve.faint]
        assert labels == ["train", "val", "what-if: zero_grad on"]
        assert "what-if: zero_grad on" in chart.frame.legend_for(120)


async def test_the_branch_is_the_run_that_never_switched_zero_grad_off(ui):
    plain = ui.linreg_app()
    async with plain.run_test(size=(120, 40)) as pilot:
        await ui.started(plain, pilot)
        await pilot.press("c")
        await ui.wait_for(pilot, lambda: plain.view.state is RunView.FINISHED, "the plain run's end")
        whole = plain.query_one(LossChart).series["train"]
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        for _ in range(5):
            await pilot.press("s")
        await ui.wait_for(pilot, lambda: app.pauses_drawn >= 6, "five phases")
        await pilot.press("z")
        await ui.wait_for(pilot, lambda: app.branch is not None, "the what-if branch")
        since = app.branch.since
        assert since == 0 and app.branch.curve[-1].iteration == whole.xs[-1]
        assert [p.loss for p in app.branch.curve] == list(whole.ys[since:])  # the same numbers, exactly


async def test_a_restart_drops_the_branch_and_z_at_the_start_branches_the_whole_run(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await pilot.press("z")  # at the start: the whole run with zero_grad on, beside the one without
        await ui.wait_for(pilot, lambda: app.branch is not None, "the what-if branch")
        assert app.branch.since == 0 and app.branch.label == "what-if: zero_grad on"
        await pilot.press("r")
        await ui.wait_for(pilot, lambda: app.branch is None and app.pauses_drawn >= 2, "the restart")
        assert BRANCH not in app.query_one(LossChart).series


async def test_a_restart_keeps_the_run_that_ended_beside_the_new_one(ui):
    app = ui.linreg_app(zero_grad=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await pilot.press("c")
        await ui.wait_for(pilot, lambda: app.view.state is RunView.FINISHED, "the first run's end")
        first = app.view.snapshot.losses
        await pilot.press("z")  # on again, for the next run (the run is over: nothing to fork)
        assert app.branch is None
        await pilot.press("r")
        await ui.wait_for(pilot, lambda: app.view.state is RunView.PAUSED, "the restart")
        await pilot.press("c")
        await ui.wait_for(pilot, lambda: app.view.state is RunView.FINISHED, "the second run's end")
        await pilot.pause()
        chart = app.query_one(LossChart)
        previous, run = chart.series[PREVIOUS], chart.series["train"]
        assert previous.label == "previous run" and previous.ys[-1] == first[-1].loss
        # the same losses up to iteration 1 (a .grad left over first changes the step of iteration 1)
        assert previous.xs[0] == 1 and previous.xs[-1] == first[-1].iteration
        assert previous.ys[-1] > 10 * run.ys[-1]  # zero_grad off then, on now
        await pilot.press("r")  # the next restart keeps this run instead, the same curve as the new one
        await ui.wait_for(pilot, lambda: app.view.state is RunView.PAUSED, "the second restart")
        await pilot.press("c")
        await ui.wait_for(pilot, lambda: app.view.state is RunView.FINISHED, "the third run's end")
        await pilot.pause()
        assert PREVIOUS not in chart.series  # drawn over an equal curve it would hide nothing


async def test_a_branch_that_takes_a_while_says_so_and_the_keys_wait_behind_it(ui, monkeypatch):
    import threading

    from loopstep.ui import what_if

    release = threading.Event()
    real = what_if.run_branch

    def slow(*args):
        assert release.wait(30)  # a long loop's branch, until the test has seen the notice
        return real(*args)

    monkeypatch.setattr(what_if, "run_branch", slow)
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, "n")
        await pilot.press("z")
        await ui.wait_for(
            pilot,
            lambda: any("running the loop on" in n.message for n in app._notifications),
            "the notice of a branch still running",
        )
        drawn = app.pauses_drawn
        await pilot.press("n")  # waits in line behind the branch
        await pilot.pause(0.2)
        assert app.pauses_drawn == drawn and app.branch is None
        release.set()
        await ui.wait_for(
            pilot, lambda: app.branch is not None and app.pauses_drawn > drawn, "branch, then n"
        )
        assert app.view.snapshot.event.iteration == 1 and app.branch.since == 0
