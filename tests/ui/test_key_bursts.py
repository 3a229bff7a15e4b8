"""Every key press is honoured, in order, however fast they come (none is dropped)."""

from __future__ import annotations

from loopstep.engine import TRAINING_PHASES, Phase
from loopstep.ui.pending import PendingKeys
from loopstep.ui.view import RunView


def settled(app) -> bool:
    return not app._in_flight and not app._pending and app.view.state is RunView.PAUSED


def test_repeated_steps_merge_and_other_keys_keep_their_place():
    keys = PendingKeys()
    for action in ["step", "step", "next", "step", "step_back", "step_back", "toggle_zero_grad", "next"]:
        keys.add(action)
    assert keys.presses() == 8
    got = []
    while (request := keys.pop()) is not None:
        got.append((request.action, request.count))
    assert got == [
        ("step", 2),
        ("next", 1),
        ("step", 1),
        ("step_back", 2),
        ("toggle_zero_grad", 1),
        ("next", 1),
    ]


async def test_fifty_steps_pressed_at_once_run_fifty_phases(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await pilot.press(*["s"] * 50)
        await ui.wait_for(pilot, lambda: settled(app), "the 50 steps to be carried out")
        event = app.view.snapshot.event
        # linreg has 5 phases per iteration and 8 iterations per epoch, then validate
        phases = [(i, p) for i in range(8) for p in TRAINING_PHASES] + [(7, Phase.VALIDATE)]
        phases += [(i, p) for i in range(8, 16) for p in TRAINING_PHASES]
        assert (event.iteration, event.phase) == phases[49]
        assert app.stepper.history.train[-1].iteration == event.iteration


async def test_a_mixed_burst_runs_in_the_order_typed(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await pilot.press("s", "s", "n", "s", "z", "n")
        await ui.wait_for(pilot, lambda: settled(app), "the burst to be carried out")
        snapshot = app.view.snapshot
        # s s → loss of iteration 0; n → its zero_grad; s → forward of 1; z → off; n → end of 1
        assert (snapshot.event.iteration, snapshot.event.phase) == (1, Phase.ZERO_GRAD)
        assert snapshot.event.skipped  # z came before the second n: that iteration skipped zero_grad
        assert not app.view.zero_grad and snapshot.grad_passes == 1


async def test_keys_pressed_while_the_run_loads_are_kept(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s", "s", "s")  # before the first pause has been drawn
        await ui.wait_for(pilot, lambda: app.pauses_drawn >= 1 and settled(app), "the run to start")
        assert app.view.snapshot.event.phase is Phase.BACKWARD


async def test_step_back_pressed_several_times_goes_back_that_many_phases(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await pilot.press(*["s"] * 7)
        await ui.wait_for(pilot, lambda: settled(app), "seven steps")
        assert (app.view.snapshot.event.iteration, app.phase) == (1, Phase.LOSS)
        await pilot.press("u", "u", "u")
        await ui.wait_for(pilot, lambda: settled(app), "three steps back")
        assert (app.view.snapshot.event.iteration, app.phase) == (0, Phase.STEP)
