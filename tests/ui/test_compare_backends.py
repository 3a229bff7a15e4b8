"""``loopstep demo linreg --compare``: the NumPy loop and the PyTorch loop side by side, in
step — the same batches, the same numbers, phase by phase (the lesson's claim that the two
map one to one), R showing either, ``z`` switching zero_grad in both."""

from __future__ import annotations

import subprocess
import sys

import pytest

from loopstep.targets import RunOptions, classify, session_for
from loopstep.ui.app import LoopstepApp
from loopstep.ui.widgets.loss_chart import LossChart

pytest.importorskip("torch")


def compare_app() -> LoopstepApp:
    return LoopstepApp(session_for(classify("linreg"), RunOptions(compare_backends=True)))


def numbers(snapshot) -> list[float]:
    """The loss, the parameters and their .grad, in the lesson's order (w, b), as floats."""
    out = [snapshot.event.iteration, snapshot.loss or 0.0]
    for p in snapshot.params:
        out += [p.value.scalar(), p.grad.scalar() if p.grad is not None and not p.grad.zeros else 0.0]
    return out


async def test_r_shows_the_pytorch_loop_at_the_same_phase_with_the_same_numbers(ui):
    app = compare_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        for key in "sssss" + "ss":  # a whole iteration, then into the next
            await ui.press_step(app, pilot, key)
            numpy = app.view.snapshot
            await pilot.press("R")
            torch_ = app.view.snapshot
            assert app.view.rank == (1, 2) and [p.name for p in torch_.params] == ["weight", "bias"]
            assert torch_.event.phase is numpy.event.phase
            assert "torch" in app.view.code.path and "loss_fn(pred, y)" in app.view.code.text  # its own code
            if torch_.event.phase.value == "backward":  # stepped as NumPy's was: this batch's gradient too
                assert [p.batch_grad.scalar() for p in torch_.params] == pytest.approx(
                    [p.batch_grad.scalar() for p in numpy.params], rel=1e-12
                )
            assert numbers(torch_) == pytest.approx(numbers(numpy), rel=1e-12)
            await pilot.press("R")
            assert app.view.rank == (0, 2) and numbers(app.view.snapshot) == numbers(numpy)  # back on NumPy's
        chart = app.query_one(LossChart)
        assert {"numpy", "torch"} <= {curve.label for curve in chart.frame.curves}


async def test_z_switches_zero_grad_off_in_both_loops_and_they_stay_equal(ui):
    app = compare_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, "n")
        await pilot.press("z")
        await ui.press_step(app, pilot, "n", times=2)
        await ui.press_step(app, pilot, "s", times=3)  # iteration 3's backward: .grad holds 3 passes
        numpy = app.view.snapshot
        await pilot.press("R")
        torch_ = app.view.snapshot
        assert numpy.grad_passes == torch_.grad_passes == 3
        assert not numpy.zero_grad_on and not torch_.zero_grad_on
        assert torch_.event.phase is numpy.event.phase
        assert numbers(torch_) == pytest.approx(numbers(numpy), rel=1e-12)


def test_compare_needs_a_scenario_with_both_loops():
    done = subprocess.run(
        [sys.executable, "-m", "loopstep", "demo", "mlp", "--compare"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "linreg" in done.stderr


async def test_after_a_step_back_or_a_restart_the_two_loops_still_agree(ui):
    """A step back runs the PyTorch loop again from its start: the z made on the way is made
    again at the same pause (and one made after the pause stepped back to is forgotten, as
    the NumPy loop forgets it); a restart starts both with the setting in force."""
    app = compare_app()

    async def agree() -> None:
        numpy = app.view.snapshot
        await pilot.press("R")
        torch_ = app.view.snapshot
        assert torch_.event.phase is numpy.event.phase and torch_.grad_passes == numpy.grad_passes
        assert numbers(torch_) == pytest.approx(numbers(numpy), rel=1e-12)
        await pilot.press("R")

    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, "n")
        await pilot.press("z")  # off after iteration 0
        await ui.press_step(app, pilot, "n", times=2)
        await agree()
        await ui.press_step(app, pilot, "u", times=3)  # back into iteration 2: the z stands
        assert app.view.snapshot.event.iteration == 2 and app.view.snapshot.grad_passes == 1  # z off stands
        await agree()
        await ui.press_step(app, pilot, "u", times=10)  # back into iteration 0, before the z
        assert app.view.snapshot.event.iteration == 0
        await ui.press_step(app, pilot, "n", times=2)
        await agree()
        await ui.press_step(app, pilot, "r")
        await ui.press_step(app, pilot, "n", times=3)
        await agree()
