"""The expression prompt, the watches and the variables pane, driven by Pilot: every value
they show is the engine's at that pause."""

from __future__ import annotations

from loopstep.engine.phases import Phase
from loopstep.engine.summary import fmt
from loopstep.scenarios import scenario_session
from loopstep.ui.app import LoopstepApp
from loopstep.ui.screens.prompt import ExpressionInput, PromptScreen
from loopstep.ui.widgets.status_line import StatusLine
from loopstep.ui.widgets.variables_pane import VariablesPane
from loopstep.ui.widgets.watch_pane import WatchPane


async def to_phase(app, pilot, ui, phase: Phase):
    while app.phase is not phase:
        await ui.press_step(app, pilot, "s")


async def type_line(app, pilot, ui, text: str):
    """Type at the prompt, press enter, and wait for the training thread's answer."""
    screen = app.screen
    before = len(screen.answers)
    screen.query_one(ExpressionInput).value = text
    await pilot.press("enter")
    await ui.wait_for(
        pilot, lambda: len(screen.answers) > before or "✗" in _log(screen), f"the answer to {text}"
    )
    return screen.answers[-1] if len(screen.answers) > before else None


def _log(screen) -> str:
    return "\n".join(line.text for line in screen.query_one("#prompt-log").lines)


async def test_the_prompt_answers_with_the_snapshots_numbers(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await to_phase(app, pilot, ui, Phase.BACKWARD)
        snapshot = app.view.snapshot
        await pilot.press("exclamation_mark")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), "the prompt")
        grads = {p.name: p.grad.scalar() for p in snapshot.params}
        answer = await type_line(app, pilot, ui, "w_grad")
        assert answer.number == grads["w"]
        answer = await type_line(app, pilot, ui, "x.mean()")
        assert abs(answer.number - snapshot.tensors["x"].mean) < 1e-12
        assert f"{answer.number!r}"[:6] in _log(app.screen)
        error = await type_line(app, pilot, ui, "1/0")
        assert error.error == "ZeroDivisionError: division by zero"
        await pilot.press("escape")
        await ui.press_step(app, pilot, "s")  # the run goes on after an error
        assert app.phase is Phase.STEP


async def test_history_and_completion(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await to_phase(app, pilot, ui, Phase.LOSS)
        await pilot.press("colon")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), "the prompt")
        await type_line(app, pilot, ui, "L")
        await type_line(app, pilot, ui, "lr")
        line = app.screen.query_one(ExpressionInput)
        await pilot.press("up")
        assert line.value == "lr"
        await pilot.press("up")
        assert line.value == "L"
        await pilot.press("down", "down")
        assert line.value == ""
        line.value = "w_g"
        line.cursor_position = 3
        await pilot.press("tab")
        await ui.wait_for(pilot, lambda: line.value == "w_grad", "completion")
    assert app.prompt_history == ["L", "lr"]  # kept for the next opening


async def test_a_statement_waits_for_ctrl_t_and_marks_the_run(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await to_phase(app, pilot, ui, Phase.BACKWARD)
        await pilot.press("exclamation_mark")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), "the prompt")
        refused = await type_line(app, pilot, ui, "w = 5")
        assert "allow statements" in refused.error and not app.view.modified
        await pilot.press("ctrl+t")
        done = await type_line(app, pilot, ui, "w = 5")
        assert done.modified and done.text == "done"
        await ui.wait_for(pilot, lambda: {p.name: p.value.scalar() for p in app.view.snapshot.params}["w"] == 5,
                          "the fresh snapshot")  # fmt: skip
        await pilot.press("escape")
        await pilot.pause()
        assert "modified by you" in str(app.query_one(StatusLine)._shown)
        await ui.press_step(app, pilot, "s")  # the step moves w from 5, as the run now has it
        w = {p.name: p for p in app.view.snapshot.params}["w"]
        assert w.change is not None and abs(w.value.scalar() - w.change.scalar() - 5) < 1e-12


async def test_watches_are_the_engines_values_at_every_pause_and_outlive_a_restart(ui):
    app = LoopstepApp(scenario_session("linreg", "numpy"))
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        pane = app.query_one(WatchPane)
        assert not pane.display  # no watch, no room taken
        await pilot.press("w")
        await pilot.pause()
        app.screen.query_one("#watch-input").value = "L*2"
        await pilot.press("enter")
        await pilot.press("escape")
        await ui.wait_for(pilot, lambda: app.view.watches, "the watch read at the pause")
        for _ in range(4):
            await ui.press_step(app, pilot, "s")
            snapshot, (watch,) = app.view.snapshot, app.view.watches
            shown = ui.text(pane.query_one("#watch-text"))
            if snapshot.loss is None:
                assert watch.answer.error.startswith("TypeError") and "✗ TypeError" in shown
            else:
                assert watch.answer.number == 2 * snapshot.loss
                assert fmt(2 * snapshot.loss) in shown  # the number the pane draws is the engine's
            assert pane.display and watch.expression in shown
        await ui.press_step(app, pilot, "r")
        assert app.watches.expressions == ("L*2",)
        await ui.press_step(app, pilot, "s")
        await ui.press_step(app, pilot, "s")
        assert app.view.watches[0].answer.number == 2 * app.view.snapshot.loss
        assert app.view.watches[0].changed  # the value it had at the pause before was an error


async def test_the_variables_pane_lists_the_frame_and_opens_a_model(ui):
    app = LoopstepApp(scenario_session("mlp"))
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await to_phase(app, pilot, ui, Phase.BACKWARD)
        await pilot.press("v")
        await ui.wait_for(pilot, lambda: app.view.variables, "the variables")
        pane = app.query_one(VariablesPane)
        assert pane.display and not app.query_one("#pane-trace").display
        names = [v.name for v in app.view.variables]
        assert names[:7] == ["model", "optimizer", "loss_fn", "x", "y", "pred", "loss"]
        loss = next(v for v in app.view.variables if v.name == "loss")
        assert loss.summary.scalar() == app.view.snapshot.loss
        tree = pane.query_one("#variables-tree")
        model = tree.root.children[0]
        model.expand()
        await ui.wait_for(pilot, lambda: len(model.children) == 7, "the model's children")
        first = model.children[0]
        first.expand()
        await ui.wait_for(pilot, lambda: len(first.children) == 2, "the first layer's parameters")
        weight = str(first.children[0].label)
        param = next(p for p in app.view.snapshot.params if p.name == "0.weight")
        assert weight.startswith("weight  tensor[32,2]") and weight.endswith(" grad")
        assert f"μ={param.value.mean:.4g}" in weight or f"x∈[{param.value.min:.4g}" in weight
        pane.query_one("#variables-filter").value = "pre"
        await pilot.pause()
        assert [str(n.label).split()[0] for n in tree.root.children] == ["pred"]
        await pilot.press("v")
        assert app.query_one("#pane-trace").display


async def test_space_switches_a_watch_off_and_on(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await pilot.press("w")
        await pilot.pause()
        for text in ("L", "w"):
            app.screen.query_one("#watch-input").value = text
            await pilot.press("enter")
        options = app.screen.query_one("#watch-list")
        options.focus()
        options.highlighted = 0
        await pilot.press("space")
        assert app.watches.disabled == {"L"}
        assert str(options.get_option_at_index(0).prompt) == "L (off)"
        await pilot.press("escape")
        await ui.press_step(app, pilot, "s")
        off, on = app.view.watches
        assert off.answer is None and on.answer.number == app.view.snapshot.params[0].value.scalar()
        assert "(off)" in ui.text(app.query_one("#watch-text"))
