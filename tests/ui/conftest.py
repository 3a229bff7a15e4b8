"""Helpers for driving the app: wait for the training thread's pauses to be drawn."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from loopstep.scenarios import scenario_session
from loopstep.ui.app import LoopstepApp
from loopstep.ui.view import RunView

#: Upper bound on how long a test waits for the training thread (never asserted on).
WAIT_ROUNDS = 1000


async def wait_drawn(app: LoopstepApp, pilot, count: int) -> None:
    """Wait until ``count`` pauses have been drawn and the screen has caught up."""
    for _ in range(WAIT_ROUNDS):
        if app.pauses_drawn >= count and app.view.state is not RunView.RUNNING:
            break
        await pilot.pause(0.005)
    await pilot.pause()
    assert app.pauses_drawn >= count, f"only {app.pauses_drawn} pauses drawn, wanted {count}"


async def wait_for(pilot, condition, what: str) -> None:
    for _ in range(WAIT_ROUNDS):
        if condition():
            await pilot.pause()
            return
        await pilot.pause(0.005)
    raise AssertionError(f"timed out waiting for {what}")


async def press_step(app: LoopstepApp, pilot, key: str = "s", times: int = 1) -> None:
    """Press a stepping key and wait for the pause it leads to."""
    for _ in range(times):
        before = app.pauses_drawn
        await pilot.press(key)
        await wait_drawn(app, pilot, before + 1)


async def started(app: LoopstepApp, pilot) -> None:
    await wait_drawn(app, pilot, 1)


def linreg_app(backend: str = "numpy", **kwargs) -> LoopstepApp:
    return LoopstepApp(scenario_session("linreg", backend, **kwargs))


def static_text(widget, width: int = 160) -> str:
    """The plain text a Static currently shows."""
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


class Drive:
    """The helpers above, handed to tests as the ``ui`` fixture (test modules cannot import
    conftest under pytest's importlib mode)."""

    wait_drawn = staticmethod(wait_drawn)
    wait_for = staticmethod(wait_for)
    press_step = staticmethod(press_step)
    started = staticmethod(started)
    linreg_app = staticmethod(linreg_app)
    text = staticmethod(static_text)


@pytest.fixture
def ui() -> type[Drive]:
    return Drive
