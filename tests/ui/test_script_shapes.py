"""The app on scripts shaped like real trainers: every pane against the engine at each pause
of a GAN and of a hand-written update with clipping; the phase bar in the run's own order;
the sentences for clip and update; and f showing the framework's frame that ran a phase."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopstep.engine.phases import Phase
from loopstep.ui.app import LoopstepApp
from loopstep.ui.widgets.code_pane import CodePane
from loopstep.ui.widgets.phase_bar import PhaseBar

from .conftest import static_text
from .test_panes_match_the_engine import walk

pytest.importorskip("torch")

from loopstep.backends.torch.intercept import script_session  # noqa: E402

SCRIPTS = Path(__file__).parents[1] / "scripts"


@pytest.mark.parametrize("script", ["gan", "manual_sgd_clip", "gpt_accum", "lbfgs_closure"])
async def test_every_pane_shows_the_snapshot(ui, script):
    app = LoopstepApp(script_session(str(SCRIPTS / f"{script}.py")))
    async with app.run_test(size=(120, 40)) as pilot:
        assert await walk(app, pilot, ui, "s" * 24) == 24


async def _step_to(app, pilot, ui, phase: Phase, limit: int = 40):
    for _ in range(limit):
        await ui.press_step(app, pilot, "s")
        event = app.view.snapshot.event
        if event is not None and event.phase is phase:
            return app.view.snapshot
    raise AssertionError(f"no {phase} in {limit} phases")


async def test_clip_and_update_are_phases_of_their_own(ui):
    app = LoopstepApp(script_session(str(SCRIPTS / "manual_sgd_clip.py")))
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        clip = await _step_to(app, pilot, ui, Phase.CLIP)
        sentence = app.query_one("#explain-line")._shown
        assert sentence.startswith("clip: clip_grad_norm_ scaled every .grad: ‖.grad‖ ")
        assert "→ 0.25 (max_norm 0.25)" in sentence and clip.event.detail in sentence
        update = await _step_to(app, pilot, ui, Phase.UPDATE)
        sentence = app.query_one("#explain-line")._shown
        moved = [p for p in update.params if p.moved]
        assert len(moved) == len(update.params) == 7
        biggest = max(moved, key=lambda p: p.change.norm)
        assert (
            f"update: 7 parameters changed outside any optimizer (line {update.event.location.line})"
            in sentence
        )
        assert biggest.name in sentence
        # After one whole iteration the bar is the script's own: no step, the update instead.
        await _step_to(app, pilot, ui, Phase.FORWARD)
        await _step_to(app, pilot, ui, Phase.FORWARD)
        bar = static_text(app.query_one(PhaseBar))
        assert bar.split() == "zero_grad · ▶ forward ◀ · loss · backward · clip · update".split()


async def test_f_shows_the_framework_frame_and_back(ui):
    pytest.importorskip("lightning")
    app = LoopstepApp(script_session(str(SCRIPTS / "lightning_auto.py")))
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        step = await _step_to(app, pilot, ui, Phase.STEP)
        pane = app.query_one(CodePane)
        assert pane.border_title.endswith("lightning_auto.py") and pane._code.line == step.event.location.line
        await pilot.press("f")
        await pilot.pause()
        assert pane.border_title == f"code · {step.event.framework.path}"
        assert pane._code.line == step.event.framework.line and "/lightning/" in step.event.framework.path
        await pilot.press("f")
        await pilot.pause()
        assert pane.border_title.endswith("lightning_auto.py")
