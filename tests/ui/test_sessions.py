"""The app on sessions other than the demo: a user's file, many parameters, a crash, and
the command line's refusals."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from loopstep.backends.numpy_backend import NumpyLinReg
from loopstep.engine import BatchPlan, OwnedLoop, Phase, Settings
from loopstep.engine.session import CodeView, Session
from loopstep.engine.summary import summarize_array
from loopstep.engine.trace import GraphNode, Trace
from loopstep.ui.app import LoopstepApp
from loopstep.ui.view import RunView
from loopstep.ui.widgets.code_pane import CodePane
from loopstep.ui.widgets.error_pane import ErrorPane
from loopstep.ui.widgets.params_pane import ParamsPane
from loopstep.ui.widgets.trace_tree import TraceTree


def batches(fail_at: int | None = None):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(8, 1))

    def train(epoch):
        for index in range(4):
            if index == fail_at:
                raise RuntimeError("the data loader broke on batch 2")
            yield x, 2 * x + 1

    return train


TRAINING_ORDER = [Phase.FORWARD, Phase.LOSS, Phase.BACKWARD, Phase.STEP, Phase.ZERO_GRAD, Phase.VALIDATE]


def user_file_session(fail_at: int | None = None) -> Session:
    """A session as `loopstep run` would make it: code from a user's file, shown around a line."""
    text = "\n".join(f"line {n}" for n in range(100, 160))

    def code_for(event, settings=None):
        line = 0 if event is None else 120 + TRAINING_ORDER.index(event.phase)
        return CodeView(text=text, path="train.py", line=line, first_line=100)

    return Session(
        title="train.py",
        make_source=lambda: OwnedLoop(
            NumpyLinReg(0.0, 0.0, 0.1),
            BatchPlan(train=batches(fail_at), epochs=1, batches_per_epoch=4),
            "train.py",
        ),
        settings=Settings(),
        code_for=code_for,
    )


async def test_code_from_a_users_file_is_shown_around_the_line(ui):
    app = LoopstepApp(user_file_session())
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, "s", times=3)
        code = app.query_one(CodePane)
        assert code.border_title == "code · train.py"
        assert code._mark == 22
        top = code.scroll_offset.y
        assert top <= 22 < top + code.scrollable_content_region.height
        assert "122" in code.render_line(22 - top).text and "▶" in code.render_line(22 - top).text
        repainted = []
        original_refresh = code.refresh
        code.refresh = lambda *regions, **kw: (repainted.extend(regions), original_refresh(*regions, **kw))[1]
        await ui.press_step(app, pilot, "s")  # step: the mark moves down one line in the scrolled view
        top = code.scroll_offset.y
        assert top > 0 and {r.y for r in repainted if r.height == 1} == {22 - top, 23 - top}
        assert "▶" in code.render_line(23 - code.scroll_offset.y).text
        assert "▶" not in code.render_line(22 - code.scroll_offset.y).text


async def test_an_error_in_the_training_code_stays_on_screen(ui):
    app = LoopstepApp(user_file_session(fail_at=2))
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await pilot.press("c")
        await ui.wait_for(pilot, lambda: app.view.state is RunView.FAILED, "the run to fail")
        pane = app.query_one(ErrorPane)
        assert pane.has_class("-shown") and pane.display
        text = ui.text(pane.query_one("#error-text"))
        assert "RuntimeError: the data loader broke on batch 2" in text and "Traceback" in text
        assert app.view.snapshot is not None and app.view.snapshot.event.iteration == 1  # last state kept
        assert "the data loader broke" in ui.text(app.query_one("#explain-line"))
        await pilot.press("tab")  # still usable
        await pilot.press("q")
    assert app.return_value == 1


async def test_a_factory_that_raises_is_shown_too(ui):
    def broken():
        raise ImportError("No module named 'mymodel'")

    app = LoopstepApp(Session(title="mymodel:make", make_source=broken))
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.wait_for(pilot, lambda: app.view.state is RunView.FAILED, "the failure")
        assert "ImportError: No module named 'mymodel'" in ui.text(app.query_one("#error-text"))
        await pilot.press("s")  # nothing to step; no crash


class ManyParams:
    """An inspector with many tensors, some big, for the parameter and trace panes."""

    def __init__(self, base):
        self.base = base

    def __getattr__(self, name):
        return getattr(self.base, name)

    def param_states(self, brief=False):
        from loopstep.engine.snapshot import ParamState

        states = []
        for layer in range(40):
            value = np.full((64, 64), layer, dtype=np.float32)
            states.append(
                ParamState(f"layers.{layer}.weight", value.shape, "float32", summarize_array(value), None)
            )
        return tuple(states)

    def trace(self):
        leaf = GraphNode("AccumulateGrad", param="layers.0.weight", grad=summarize_array(np.ones(3)))
        block = GraphNode("AddmmBackward0", children=(leaf,), repeat=12)
        chain = block
        for depth in range(60):
            chain = GraphNode(f"ReluBackward{depth}", children=(chain,))
        return Trace(graph=chain)


async def test_many_big_parameters_are_one_line_each_and_scroll(ui):
    def source():
        loop = OwnedLoop(NumpyLinReg(0.0, 0.0, 0.1), BatchPlan(train=batches(), epochs=1), "big")
        loop.backend = ManyParams(loop.backend)
        return loop

    app = LoopstepApp(Session(title="big", make_source=source))
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, "s")
        params = app.query_one(ParamsPane)
        text = ui.text(params.query_one("#params-text"))
        rows = [line for line in text.splitlines() if "layers." in line]
        assert len(rows) == 40  # one line per tensor
        assert "[64,64]" in rows[39] and "x∈[39, 39] μ=39 σ=0" in rows[39]
        assert params.virtual_size.height > params.size.height  # scrolls
        tree = app.query_one(TraceTree)
        # a 60-deep graph opens one level; the rest is added on expansion
        graph = tree.root.children[-1].children[0]
        assert len(graph.children) == 1 and not graph.children[0].children
        graph.children[0].expand()
        await pilot.pause()
        assert graph.children[0].children


async def test_resizing_back_and_forth_keeps_the_state(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, "n")
        for size in [(80, 24), (40, 10), (200, 60), (10, 5), (120, 40), (80, 24)]:
            await pilot.resize_terminal(*size)
            await pilot.pause()
        assert app.query_one("#panes").mode == "tabs"
        await ui.press_step(app, pilot, "s")
        assert app.phase is Phase.FORWARD and app.view.snapshot.event.iteration == 1
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert app.query_one("#panes").mode == "wide"
        code = app.view.code  # the forward line, marked again in the new layout
        assert app.query_one(CodePane)._mark == code.line - code.first_line
        assert "1. forward" in code.text.splitlines()[code.line - 1]


def test_demo_refuses_without_a_terminal_in_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "loopstep", "demo"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "--no-tui" in result.stderr


@pytest.mark.parametrize(
    "scenario, backend, lr, message",
    [
        ("nope", None, None, "unknown scenario 'nope'"),
        ("mlp", "numpy", None, "runs on torch, not 'numpy'"),
    ],
)
def test_demo_checks_its_arguments_before_it_looks_at_the_terminal(scenario, backend, lr, message):
    argv = [sys.executable, "-m", "loopstep", "demo", scenario] + (["--backend", backend] if backend else [])
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1


async def test_code_lines_always_carry_a_style_for_no_color(ui):
    """NO_COLOR's monochrome filter fails on a segment without a style."""
    app = ui.linreg_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, "s")
        code = app.query_one(CodePane)
        for y in range(code.size.height + 2):  # past the last line too
            assert all(segment.style is not None for segment in code.render_line(y))
