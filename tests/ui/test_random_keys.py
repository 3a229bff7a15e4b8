"""Random key sequences never break the app: it keeps running, raises nothing, and once the
run settles the status line and the phase bar say where the engine is."""

from __future__ import annotations

import asyncio
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopstep.scenarios import scenario_session
from loopstep.ui.app import LoopstepApp
from loopstep.ui.view import RunView
from loopstep.ui.widgets.phase_bar import PhaseBar
from loopstep.ui.widgets.status_line import StatusLine

#: What a user may do: a key, a dialog opened and closed, or a resize.
ACTIONS = st.one_of(
    st.sampled_from(["s", "n", "e", "c", "u", "z", "l", "r", "left", "space"]),
    st.sampled_from(["b", "k", "question_mark"]).map(lambda key: ("dialog", key)),
    st.sampled_from([(80, 24), (120, 40), (60, 20), (200, 50)]).map(lambda size: ("resize", size)),
)
SIZES = [(120, 40), (80, 24)]


async def settle(app, pilot) -> None:
    """Wait until no key is waiting and no command is in flight (or the run is over)."""
    for _ in range(4000):
        over = app.view.state in (RunView.FINISHED, RunView.FAILED)
        if over or (app.pauses_drawn and not app._in_flight and not app._pending and app._live_timer is None):
            break
        await pilot.pause(0.005)
    await pilot.pause()


def check(app) -> None:
    assert app.is_running and app._exception is None
    view = app.view
    status = str(app.query_one(StatusLine)._shown)
    if view.state is RunView.FINISHED:
        assert "finished" in status
        return
    assert view.state is RunView.PAUSED, view.state
    assert view.snapshot is app.stepper.last_snapshot  # what is drawn is where the engine paused
    event = view.snapshot.event
    if event is None:
        assert "start" in status
        return
    found = re.search(r"epoch (\d+) · batch (\d+) · iter (\d+)|e(\d+) b(\d+) i(\d+)", status)
    assert found, status
    assert [int(g) for g in found.groups() if g is not None] == [event.epoch, event.batch, event.iteration]
    assert f"zero_grad: {'ON' if view.zero_grad else 'OFF'}" in status
    assert f"▶ {event.phase.value}" in str(app.query_one(PhaseBar).render())


async def play(actions, size) -> None:
    app = LoopstepApp(scenario_session("linreg", "numpy", epochs=3))
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        check(app)
        for action in actions:
            if isinstance(action, tuple) and action[0] == "dialog":
                await pilot.press(action[1])
                await pilot.pause()
                await pilot.press("escape")
            elif isinstance(action, tuple):
                await pilot.resize_terminal(*action[1])
            else:
                await pilot.press(action)
                if action == "c":  # let it run a little, then pause it (or let it finish)
                    await pilot.pause(0.05)
                    if app._live_timer is not None:
                        await pilot.press("c")
            await settle(app, pilot)
            check(app)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(actions=st.lists(ACTIONS, min_size=1, max_size=14), size=st.sampled_from(SIZES))
def test_random_keys_never_break_the_app(actions, size):
    asyncio.run(play(actions, size))
