"""The app's debugger keys: step back, the stop-condition dialog, the diagnostics pane."""

from __future__ import annotations

from loopstep.engine import Phase
from loopstep.engine.breakpoints import parse_conditions
from loopstep.scenarios import scenario_session
from loopstep.ui.app import LoopstepApp
from loopstep.ui.view import RunView
from loopstep.ui.widgets.diagnostics_pane import DiagnosticsPane
from loopstep.ui.widgets.loss_chart import LossChart
from loopstep.ui.widgets.status_line import StatusLine

ROUNDS = 2000


async def settle(app, pilot, count: int) -> None:
    for _ in range(ROUNDS):
        if app.pauses_drawn >= count and app.view.state is not RunView.RUNNING:
            break
        await pilot.pause(0.005)
    await pilot.pause()
    assert app.pauses_drawn >= count


async def press(app, pilot, key: str) -> None:
    before = app.pauses_drawn
    await pilot.press(key)
    await settle(app, pilot, before + 1)


def where(app):
    event = app.view.snapshot.event
    return event.iteration, event.phase


async def test_u_steps_back_one_phase_and_forward_again_gives_the_same_numbers():
    app = LoopstepApp(scenario_session("linreg", "numpy"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot, 1)
        for _ in range(9):
            await press(app, pilot, "s")
        assert where(app) == (1, Phase.STEP)
        w_at_step = app.view.snapshot.param("w").value.scalar()
        await press(app, pilot, "u")
        assert where(app) == (1, Phase.BACKWARD) and app.view.reason == "stepped back"
        await press(app, pilot, "left")
        assert where(app) == (1, Phase.LOSS)
        await press(app, pilot, "s")
        await press(app, pilot, "s")
        assert where(app) == (1, Phase.STEP)
        assert app.view.snapshot.param("w").value.scalar() == w_at_step


async def test_what_if_curve_is_drawn_after_a_step_back():
    app = LoopstepApp(scenario_session("linreg", "numpy"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot, 1)
        for _ in range(12):
            await press(app, pilot, "s")
        await press(app, pilot, "u")
        chart = app.query_one(LossChart)
        # three losses before the step back; the current run has the first two: the first
        # run's curve is drawn from where they part on, so that it can be seen
        assert chart.series["train"].xs == (0, 1)
        assert "original" in chart.series and chart.series["original"].xs == (1, 2)


async def test_diagnostics_pane_and_status_line_count_findings():
    app = LoopstepApp(scenario_session("linreg", "numpy", zero_grad=False))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot, 1)
        await press(app, pilot, "n")
        assert app.view.findings == ()
        await press(app, pilot, "n")  # the second backward adds onto the stepped .grad
        assert [f.id for f in app.view.findings] == ["zero-grad-missing"]
        assert "1 finding (1 error)" in str(app.query_one(StatusLine)._shown)
        pane = app.query_one(DiagnosticsPane)
        assert pane.border_title == "diagnostics (1)"
        text = str(pane.query_one("#diagnostics-text").content.renderables[0])
        assert "NEW" in text and "zero-grad-missing" in text


async def test_b_adds_a_stop_condition_that_continue_then_stops_at():
    app = LoopstepApp(scenario_session("linreg", "numpy"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot, 1)
        await pilot.press("b")
        await pilot.pause()
        await pilot.press(*"grad_norm>>1")
        await pilot.press("enter")
        await pilot.pause()
        assert "not a number" in str(app.screen.query_one("#break-error").content)
        for _ in range(len("grad_norm>>1")):
            await pilot.press("backspace")
        await pilot.press(*"iteration=3", "enter", "escape")
        await pilot.pause()
        assert [str(c) for c in app.stepper.conditions] == ["iteration=3"]
        await press(app, pilot, "c")
        assert where(app) == (3, Phase.FORWARD) and app.view.reason == "break: iteration=3"


async def test_b_refuses_a_parameter_the_model_lacks_and_keeps_the_brackets():
    app = LoopstepApp(scenario_session("linreg", "numpy"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot, 1)
        await pilot.press("b")
        await pilot.pause()
        await pilot.press(*"grad_norm[nope]>1", "enter")
        await pilot.pause()
        error = str(app.screen.query_one("#break-error").content)
        assert "'grad_norm[nope]>1'" in error and "no trainable parameter named 'nope' (some: w, b)" in error
        for _ in range(len("grad_norm[nope]>1")):
            await pilot.press("backspace")
        await pilot.press(*"grad_norm[w]>1", "enter")
        await pilot.pause()
        listed = app.screen.query_one("#break-list")
        assert str(listed.get_option_at_index(0).prompt) == "grad_norm[w]>1"
        await pilot.press("escape")
        await pilot.pause()
        assert [str(c) for c in app.stepper.conditions] == ["grad_norm[w]>1"]


async def test_session_conditions_reach_the_stepper():
    session = scenario_session("linreg", "numpy")
    session.conditions = parse_conditions(["phase=validate"])
    app = LoopstepApp(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot, 1)
        await press(app, pilot, "c")
        assert where(app)[1] is Phase.VALIDATE


async def test_u_in_a_script_looks_back_and_s_returns_to_the_live_phase():
    from pathlib import Path

    from loopstep.backends.torch.intercept.script import script_session

    script = str(Path(__file__).parent / "scripts" / "clean_train_eval.py")
    app = LoopstepApp(script_session(script, max_iterations=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot, 1)
        for _ in range(5):  # zero_grad, forward, loss, backward, step
            await press(app, pilot, "s")
        assert where(app) == (0, Phase.STEP)
        await press(app, pilot, "u")
        status = str(app.query_one(StatusLine).render())
        assert where(app) == (0, Phase.BACKWARD) and "look back −1" in status
        assert "cannot be re-run" in str(app.query_one("#explain-line").render())
        assert app.view.previous is None  # a view from the past marks no changes
        await press(app, pilot, "s")
        assert where(app) == (0, Phase.STEP) and app.view.reason == "back at the live phase"
        assert app.view.previous.event.phase is Phase.BACKWARD  # compared as it was before
        assert "look back" not in str(app.query_one(StatusLine).render())
        await press(app, pilot, "s")
        assert app.view.snapshot.event.phase is Phase.ZERO_GRAD


async def test_u_at_the_end_of_a_run_steps_back_into_it():
    app = LoopstepApp(scenario_session("linreg", "numpy", epochs=1))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot, 1)
        await pilot.press("c")
        for _ in range(ROUNDS):
            if app.view.state is RunView.FINISHED:
                break
            await pilot.pause(0.005)
        assert app.view.state is RunView.FINISHED and app.view.snapshot.finished
        await pilot.press("s")  # the run is over: nothing runs, and the message says u still works
        await pilot.pause()
        assert app.view.state is RunView.FINISHED
        assert any("u steps back" in n.message for n in app._notifications)
        await press(app, pilot, "u")
        assert app.view.state is RunView.PAUSED and where(app) == (7, Phase.VALIDATE)
        await press(app, pilot, "u")
        assert where(app) == (7, Phase.ZERO_GRAD)
        await press(app, pilot, "c")
        assert app.view.state is RunView.FINISHED
