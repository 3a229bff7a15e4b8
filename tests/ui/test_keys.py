"""Every key, driven through Textual's pilot against the real engine (linreg, NumPy)."""

from __future__ import annotations

import pytest

from loopstep.engine import Phase
from loopstep.ui.keys import KEYS
from loopstep.ui.view import RunView
from loopstep.ui.widgets.explain_line import ExplainLine
from loopstep.ui.widgets.grads_pane import GradsPane
from loopstep.ui.widgets.loss_chart import LossChart
from loopstep.ui.widgets.phase_bar import PhaseBar
from loopstep.ui.widgets.status_line import StatusLine


def shown(app, widget_type) -> str:
    widget = app.query_one(widget_type)
    return str(widget.render()) if not hasattr(widget, "_shown") else str(widget._shown)


async def test_step_and_space_walk_the_five_phases(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        assert app.phase is None and app.view.state is RunView.PAUSED
        phases = []
        for key in ("s", "space", "s", "space", "s"):
            await ui.press_step(app, pilot, key)
            phases.append(app.phase)
            assert f"▶ {app.phase.value}" in shown(app, PhaseBar)
            assert shown(app, ExplainLine).strip().startswith(app.phase.value)
        assert phases == [Phase.FORWARD, Phase.LOSS, Phase.BACKWARD, Phase.STEP, Phase.ZERO_GRAD]
        w = app.view.snapshot.param("w").value.scalar()
        assert abs(w - 1.872) < 1e-3  # -0.5 − 0.1·(−23.72)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
async def test_next_runs_to_the_end_of_the_iteration_and_epoch_to_validate(ui, backend):
    app = ui.linreg_app(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, "s")
        await ui.press_step(app, pilot, "n")
        event = app.view.snapshot.event
        assert (event.phase, event.iteration) == (Phase.ZERO_GRAD, 0)
        await ui.press_step(app, pilot, "n")
        event = app.view.snapshot.event
        assert (event.phase, event.iteration) == (Phase.ZERO_GRAD, 1)
        await ui.press_step(app, pilot, "e")
        event = app.view.snapshot.event
        assert (event.phase, event.epoch) == (Phase.VALIDATE, 0)
        assert app.view.snapshot.val_losses and "validate" in shown(app, PhaseBar)
        # The pause after validate shows the mode validate ran in; the next batch trains again.
        assert "eval · no_grad" in shown(app, StatusLine)
        await ui.press_step(app, pilot, "s")
        assert app.view.snapshot.event.phase is Phase.FORWARD
        assert "train · grad" in shown(app, StatusLine)


async def test_continue_then_pause_stops_mid_run_and_draws_the_state(ui):
    app = ui.linreg_app(epochs=100_000)
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        drawn = app.pauses_drawn
        await pilot.press("c")
        assert app.view.state is RunView.RUNNING
        await ui.wait_for(pilot, lambda: len(app.stepper.history.train) > 20, "the run to get going")
        assert "running" in shown(app, StatusLine)
        assert shown(app, ExplainLine).startswith("running freely")
        await pilot.press("c")
        await ui.wait_drawn(app, pilot, drawn + 1)
        assert app.view.state is RunView.PAUSED and app.view.reason == "paused"
        snapshot = app.view.snapshot
        assert snapshot.event.iteration > 20 and not snapshot.finished
        chart = app.query_one(LossChart)
        assert len(chart.series["train"].xs) == len(snapshot.losses)
        await ui.press_step(app, pilot, "s")  # stepping works again after a pause
        assert app.view.state is RunView.PAUSED


async def test_continue_to_the_end_draws_the_final_state(ui):
    app = ui.linreg_app(epochs=2)
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await pilot.press("c")
        await ui.wait_for(pilot, lambda: app.view.state is RunView.FINISHED, "the run to finish")
        assert app.view.snapshot.finished
        assert len(app.query_one(LossChart).series["train"].xs) == 16
        assert "finished" in shown(app, StatusLine)
        assert shown(app, ExplainLine).strip().startswith("finished: 16 iterations")
        await pilot.press("s")  # nothing to step: a notice, no crash
        assert app.view.state is RunView.FINISHED


async def test_zero_grad_off_for_three_iterations_sums_passes_and_the_loss_runs_away(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await pilot.press("z")
        assert not app.view.zero_grad and "zero_grad: OFF" in shown(app, StatusLine)
        await ui.press_step(app, pilot, "n", times=3)
        await ui.press_step(app, pilot, "s", times=3)  # forward, loss, backward of the fourth iteration
        snapshot = app.view.snapshot
        assert snapshot.event.phase is Phase.BACKWARD and snapshot.grad_passes == 4
        w = snapshot.param("w")
        assert w.grad_passes == 4 and abs(w.grad.mean - w.batch_grad.mean) > 1e-6
        grads = app.query_one(GradsPane)
        text = ui.text(grads.query_one("#grads-text"))
        assert ".grad is now the sum of 4 backward passes" in text
        losses = [p.loss for p in snapshot.losses]
        # zero_grad on: 32.29 then 0.36 (see test_explain); off, the loss climbs back instead
        assert max(losses[1:]) > 10 * losses[1]


async def test_zero_grad_key_turns_it_back_on(ui):
    app = ui.linreg_app(zero_grad=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await pilot.press("z")
        assert app.view.zero_grad and "zero_grad: ON" in shown(app, StatusLine)
        await ui.press_step(app, pilot, "n")
        assert not app.view.snapshot.event.skipped


async def test_log_key_switches_the_chart_scale(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, "n", times=2)
        chart = app.query_one(LossChart)
        assert not chart.log_scale
        await pilot.press("l")
        await pilot.pause()
        assert chart.log_scale and chart.border_title == "loss (log scale)"
        await pilot.press("l")
        await pilot.pause()
        assert not chart.log_scale and chart.border_title == "loss"


async def test_restart_starts_again_from_the_first_batch(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, "n", times=2)
        old = app.stepper
        drawn = app.pauses_drawn
        await pilot.press("r")
        await ui.wait_drawn(app, pilot, drawn + 1)
        assert app.stepper is not old and app.phase is None
        assert app.view.snapshot.losses == () and app.view.snapshot.param("w").value.scalar() == -0.5
        await ui.press_step(app, pilot, "s", times=2)
        assert app.view.snapshot.loss is not None and abs(app.view.snapshot.loss - 32.29) < 0.01


async def test_restart_while_continuing_stops_the_old_run(ui):
    app = ui.linreg_app(epochs=100_000)
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await pilot.press("c")
        await ui.wait_for(pilot, lambda: len(app.stepper.history.train) > 5, "the run to get going")
        old_worker = app.worker
        drawn = app.pauses_drawn
        await pilot.press("r")
        await ui.wait_drawn(app, pilot, drawn + 1)
        assert old_worker.is_finished and app.phase is None and app.view.state is RunView.PAUSED


async def test_help_lists_every_key_and_phase(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "HelpScreen"
        text = ui.text(app.screen.query_one("#help-text"))
        for key in KEYS:
            assert key.help in text
        for phase in ("forward", "loss", "backward", "step", "zero_grad", "validate"):
            assert phase in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.__class__.__name__ != "HelpScreen"


async def test_quick_check_explains_each_answer(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await pilot.press("k")
        await pilot.pause()
        screen = app.screen
        assert screen.__class__.__name__ == "QuickCheckScreen"
        await pilot.press("enter")  # first choice of question 1 is right
        feedback = ui.text(screen.query_one("#qc-feedback"))
        assert feedback.startswith("Right.") and screen.score == 1
        await pilot.press("n", "down", "down", "enter")  # question 2: third choice is wrong
        feedback = ui.text(screen.query_one("#qc-feedback"))
        assert feedback.startswith("Not quite. The answer is b.") and screen.score == 1
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen


async def test_quit_ends_the_app_and_the_training_thread(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        worker = app.worker
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0
    worker._thread.join(timeout=5) if getattr(worker, "_thread", None) else None
    assert app.stepper.state.value in ("finished", "paused") or worker.is_finished


async def test_tab_moves_between_panes_and_arrows_scroll(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        seen = []
        for _ in range(6):
            await pilot.press("tab")
            seen.append(app.focused.id if app.focused is not None else None)
        assert {"pane-code", "pane-trace"} <= set(seen)
        app.query_one("#pane-code").focus()
        await pilot.press("down", "down")
        assert app.query_one("#pane-code").scroll_offset.y >= 0


async def test_every_key_has_a_command_palette_entry(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        titles = {command.help for command in app.get_system_commands(app.screen)}
        for key in KEYS:
            if key.action != "quit":
                assert key.help in titles
        assert "Quit" in {command.title for command in app.get_system_commands(app.screen)}


async def test_step_keys_pressed_while_loading_are_not_lost(ui):
    app = ui.linreg_app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.view.state.value == "loading"
        await pilot.press("s", "s")  # before the run is ready
        await ui.wait_for(
            pilot, lambda: app.phase is Phase.LOSS and app.view.state is RunView.PAUSED, "two steps"
        )
        assert [p.loss for p in app.view.snapshot.losses] == [app.view.snapshot.loss]


async def test_trace_scrollbar_and_offset_follow_the_tree_as_it_grows_and_shrinks(ui):
    """The trace pane skips the screen layout when its line count changes: its scrollbar and
    scroll offset must still match the tree."""
    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, times=4)  # forward, loss, backward, step: the tree is long
        tree = app.query_one("#pane-trace")
        lines = tree.virtual_size.height
        assert lines > tree.scrollable_content_region.height
        assert tree.vertical_scrollbar.window_virtual_size == lines
        tree.scroll_end(animate=False)
        await pilot.pause()
        assert tree.scroll_y == tree.max_scroll_y > 0
        await ui.press_step(app, pilot, times=2)  # zero_grad, then forward: the tree shrinks
        assert tree.virtual_size.height < lines
        assert tree.vertical_scrollbar.window_virtual_size == tree.virtual_size.height
        assert 0 <= tree.scroll_y <= tree.max_scroll_y


def test_key_row_keeps_the_stepping_keys_and_help_at_80_columns_and_shows_every_key_when_wide():
    from loopstep.ui.widgets.key_hints import HINTS, KeyHints

    hints = KeyHints()
    narrow = hints._row(80).plain
    assert len(narrow) == 80 and narrow.rstrip().endswith("^p  palette")
    for label in ("step", "next", "cont/pause", "zero_grad", "back", "help"):
        assert f" {label} " in narrow
    wide = hints._row(200).plain
    assert all(f" {label} " in wide for _, label, _ in HINTS)
    # A click lands on the key under it.
    start, end, action = next(span for span in hints._spans if span[2] == "help")
    assert wide[start:end].strip().startswith("?")


async def test_stepping_lays_the_screen_out_only_when_a_pane_changes_size(ui, monkeypatch):
    """A layout of the whole screen costs more than the paint of a step; a step changes
    numbers and text in panes of fixed size, so it needs none (the trace's scrollbar stays,
    the chart's legend keeps its row, the tensor list keeps its rows)."""
    from textual.screen import Screen

    layouts = []
    original = Screen._refresh_layout

    def counted(self, *args, **kwargs):
        layouts.append(type(self).__name__)
        return original(self, *args, **kwargs)

    app = ui.linreg_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.started(app, pilot)
        await ui.press_step(app, pilot, times=5)  # the first iteration: the chart is built here
        await pilot.pause()
        monkeypatch.setattr(Screen, "_refresh_layout", counted)
        await ui.press_step(app, pilot, times=10)  # two more iterations
        await pilot.pause()
        assert app.view.snapshot.event.iteration == 2
        assert layouts == []
