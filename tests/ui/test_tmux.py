"""The app in a real terminal: tmux runs ``loopstep demo``, keys go in with send-keys and the
screen comes back with capture-pane. Skipped where tmux is not installed."""

from __future__ import annotations

import re
import shutil

import pytest
from tests.terminal import Tmux  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@pytest.fixture(params=[(80, 24), (120, 40)], ids=["80x24", "120x40"])
def terminal(request):
    tmux = Tmux(*request.param)
    yield tmux
    tmux.close()


def test_keys_move_the_phase_and_the_numbers(terminal):
    first = terminal.wait_for(r"paused.*start")
    assert "Nothing has run yet" in first
    terminal.keys("s")
    terminal.wait_for(r"▶ forward ◀")
    terminal.keys("s")
    shown = terminal.wait_for(r"▶ loss ◀")
    assert "L = 32.29" in shown
    terminal.keys("n")
    shown = terminal.wait_for(r"▶ zero_grad ◀")
    assert re.search(r"(iter 0|i0) ", shown)
    terminal.keys("s", "s")
    shown = terminal.wait_for(r"L = 0\.3595")  # the loss fell after one step
    assert re.search(r"(iter 1|i1) ", shown)
    terminal.keys("z")
    terminal.wait_for("zero_grad: OFF")
    terminal.keys("q")
    terminal.wait_for(r"^\s*$(?![\s\S]*▶)")  # the app is gone


def test_the_prompt_reads_a_value_back_at_80x24():
    tmux = Tmux(80, 24)
    try:
        tmux.wait_for(r"paused.*start")
        tmux.keys("s", "s", "s")
        tmux.wait_for(r"▶ backward ◀")
        tmux.keys("!")
        tmux.wait_for(r"read-only")
        tmux.keys("-l", "w_grad * 2")
        tmux.keys("Enter")
        shown = tmux.wait_for(r"-47\.43")  # 2 × the first batch's dL/dw, -23.72
        assert "› w_grad * 2" in shown
        tmux.keys("-l", "nope")
        tmux.keys("Enter")
        tmux.wait_for("NameError: name 'nope' is not defined")
        tmux.keys("Escape")
        tmux.wait_for(r"\A(?![\s\S]*read-only)")  # closed (a key sent at once would read as alt+key)
        tmux.keys("s")
        tmux.wait_for(r"▶ step ◀")  # the run goes on after an error at the prompt
    finally:
        tmux.close()


@pytest.mark.parametrize(
    ("scenario", "steps", "size"), [("linreg", 11, (120, 40)), ("mlp", 6, (120, 40)), ("linreg", 6, (80, 24))]
)
def test_what_each_step_repaints_is_what_a_full_repaint_shows(scenario, steps, size):
    """Panes repaint only the rows that changed (the trace is rebuilt at every phase): after
    each step the terminal must hold, cell for cell and style for style, what the app paints
    when it draws the whole screen again."""
    tmux = Tmux(*size, args=("demo", scenario))
    try:
        tmux.wait_for(r"paused.*start")
        for step in range(steps):
            tmux.keys("s")
            stepped = tmux.settled()
            full = tmux.repainted_in_full()
            rows = [i for i, (a, b) in enumerate(zip(stepped.splitlines(), full.splitlines())) if a != b]
            assert stepped == full, f"step {step + 1}: rows {rows} differ from a full repaint"
    finally:
        tmux.close()
