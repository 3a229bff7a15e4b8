"""Continue at a pace: ``-`` sets one, ``c`` plays the run one iteration at a time, every
pause a real one drawn in every pane; ``c`` stops it there; a stop condition stops it too."""

from __future__ import annotations

from loopstep.engine import Phase
from loopstep.ui.playing import PACES
from loopstep.ui.view import RunView


async def test_c_at_a_pace_plays_whole_iterations_each_drawn_then_c_stops_it(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await pilot.press("minus")  # from as fast as the run goes to the fastest pace
        assert app.pace == PACES[-2]
        seen = []  # every pause the panes were drawn with
        show = app._show_snapshot

        def shown(snapshot, state, reason, **kwargs):
            seen.append((snapshot.event, snapshot.param("w").value.scalar()))
            show(snapshot, state, reason, **kwargs)

        app._show_snapshot = shown
        drawn = app.pauses_drawn
        await pilot.press("c")
        await ui.wait_for(pilot, lambda: app.pauses_drawn >= drawn + 4, "four played iterations")
        await pilot.press("c")
        await pilot.pause(0.1)
        stopped = app.pauses_drawn
        await pilot.pause(3 / PACES[-2])
        assert app.pauses_drawn == stopped and app.view.state is RunView.PAUSED  # it stays there
        event = app.view.snapshot.event
        assert event.phase in (Phase.ZERO_GRAD, Phase.VALIDATE)  # where a NEXT ends, as by hand
        ends = [e for e, _ in seen if e is not None and e.phase is Phase.ZERO_GRAD]
        assert [e.iteration for e in ends] == sorted({e.iteration for e in ends})  # one by one
        ws = [w for e, w in seen if e is not None and e.phase is Phase.ZERO_GRAD]
        assert len(set(ws)) >= 2  # each iteration drawn with its own w: the panes moved, not only the chart
        await pilot.press("c")  # and plays on from there
        await ui.wait_for(pilot, lambda: app.pauses_drawn > stopped, "playing on")
        await pilot.press("c")


async def test_the_pace_goes_between_one_a_second_and_as_fast_as_the_run_goes(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        for _ in PACES:
            await pilot.press("minus")
        assert app.pace == PACES[0] == 1.0
        for _ in PACES:
            await pilot.press("plus")
        assert app.pace is None
        await pilot.press("c")  # no pace: continue freely, as ever
        await ui.wait_for(pilot, lambda: app.view.state is RunView.FINISHED, "the run's end")
        assert not app._playing


async def test_a_built_in_scenario_plays_at_a_learners_pace_and_a_script_as_fast_as_it_goes(ui, tmp_path):
    from loopstep.targets import DEMO_PACE, RunOptions, classify, session_for
    from loopstep.ui.app import LoopstepApp

    app = LoopstepApp(session_for(classify("linreg"), RunOptions()))
    assert app.pace == DEMO_PACE == 20.0  # linreg's 200 iterations over 10 s
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        drawn = app.pauses_drawn
        await pilot.press("c")
        await ui.wait_for(pilot, lambda: app.pauses_drawn >= drawn + 3, "three played iterations")
        assert app._playing and app.view.snapshot.event.phase is Phase.ZERO_GRAD  # each one drawn
        await pilot.press("c")
    script = tmp_path / "train.py"
    script.write_text("print('hi')\n")
    assert LoopstepApp(session_for(classify(str(script)), RunOptions())).pace is None
