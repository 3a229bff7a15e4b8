"""loopstep replay opens the app on a recording: the same keys step it, small terminals included."""

from __future__ import annotations

import pytest

from loopstep.engine import Phase
from loopstep.engine.recording import read_recording, record_session, replay_session
from loopstep.scenarios import scenario_session
from loopstep.ui.app import LoopstepApp
from loopstep.ui.view import RunView

from .test_replay_stepper import pauses


async def wait_drawn(app, pilot, count: int) -> None:
    for _ in range(1000):  # a bound on waiting, never asserted on
        if app.pauses_drawn >= count and app.view.state is not RunView.RUNNING:
            break
        await pilot.pause(0.005)
    await pilot.pause()
    assert app.pauses_drawn >= count


async def press(app, pilot, key: str) -> None:
    before = app.pauses_drawn
    await pilot.press(key)
    await wait_drawn(app, pilot, before + 1)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A linreg run recorded in continue mode (no pause inside it)."""
    from loopstep.engine import Command

    path = str(tmp_path_factory.mktemp("app") / "run.lsr")
    pauses(record_session(scenario_session("linreg", epochs=3), path), [Command.CONTINUE])
    return read_recording(path)


async def test_keys_step_a_replay_like_a_run(recording):
    app = LoopstepApp(replay_session(recording))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_drawn(app, pilot, 1)
        await press(app, pilot, "s")
        assert app.view.snapshot.event.phase is Phase.FORWARD
        await press(app, pilot, "n")
        event = app.view.snapshot.event
        assert (event.phase, event.iteration) == (Phase.ZERO_GRAD, 0)
        step = next(r for r in recording.phases if r.event.phase is Phase.STEP)
        assert app.view.snapshot.param("w").value.scalar() == pytest.approx(float(step.arrays["w"][0]))
        await press(app, pilot, "e")
        event = app.view.snapshot.event
        assert (event.phase, event.epoch) == (Phase.VALIDATE, 0)
        assert app.view.snapshot.val_losses
        await press(app, pilot, "c")
        assert app.view.state is RunView.FINISHED
        assert len(app.view.snapshot.losses) == 3 * 8
        assert "the run finished" in " ".join(app.view.snapshot.trace.notes)


@pytest.mark.parametrize("size", [(40, 12), (80, 24)])
async def test_a_replay_in_a_small_terminal_never_crashes(recording, size):
    app = LoopstepApp(replay_session(recording))
    async with app.run_test(size=size) as pilot:
        await wait_drawn(app, pilot, 1)
        for key in ("s", "s", "s", "n", "e"):
            await press(app, pilot, key)
        assert app.view.snapshot.event.phase is Phase.VALIDATE
        assert app.is_running


async def test_ctrl_s_saves_an_svg_screenshot(recording, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = LoopstepApp(replay_session(recording))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_drawn(app, pilot, 1)
        await press(app, pilot, "s")
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = list((tmp_path / "loopstep-screenshots").glob("*.svg"))
    assert len(saved) == 1
    text = saved[0].read_text()
    assert text.startswith("<svg") and "forward" in text


async def test_compare_draws_another_recordings_curve_beside_the_replays_own(tmp_path):
    """``loopstep replay on.lsr --compare off.lsr``: the run with zero_grad switched off drawn
    beside the one with it on, each curve the losses its own run had."""
    from loopstep.engine import Command
    from loopstep.targets import Kind, RunOptions, Target, session_for
    from loopstep.ui.widgets.loss_chart import LossChart

    paths = {}
    for name, zero_grad in (("on", True), ("off", False)):
        paths[name] = str(tmp_path / f"{name}.lsr")
        session = scenario_session("linreg", epochs=2)
        session.settings.zero_grad = zero_grad
        _, stepper = pauses(record_session(session, paths[name]), [Command.CONTINUE])
    off_losses = [p.loss for p in stepper.history.frozen()[0]]  # the "off" run's, as it ran
    session = session_for(Target(Kind.RECORDING, paths["on"]), RunOptions(compare=[paths["off"]]))
    app = LoopstepApp(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_drawn(app, pilot, 1)
        await press(app, pilot, "c")
        chart = app.query_one(LossChart)
        compared = chart.series["compare:off"]
        assert compared.label == "off" and list(compared.ys) == off_losses
        own = [p.loss for p in app.view.snapshot.losses]
        assert list(chart.series["train"].ys) == own and own[-1] < off_losses[-1] / 4  # it blew up
        assert "•• off" in chart.frame.legend
