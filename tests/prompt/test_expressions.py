"""The expression prompt's engine: what an expression typed at a pause sees, that it never
changes the run unless a statement was allowed, and that it runs in the training thread."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from loopstep.backends.torch.intercept.script import script_session
from loopstep.engine import Command
from loopstep.engine.expressions import complete, evaluate
from loopstep.engine.phases import Phase
from loopstep.scenarios import scenario_session

SCRIPT = str(Path(__file__).parents[1] / "scripts" / "prompt_loop.py")


def run_script(at, capsys, *, phase=Phase.BACKWARD, iteration=2):
    """Run prompt_loop.py, call ``at(stepper)`` at one pause; return (answers, script output)."""
    answers = []

    def controller(snapshot, reason):
        event = snapshot.event
        if event is not None and event.phase is phase and event.iteration == iteration:
            answers.append(at(stepper, snapshot))
        return Command.STEP

    stepper = script_session(SCRIPT).new_stepper(controller=controller, history=0)
    stepper.run()
    assert stepper.error is None, stepper.error and stepper.error.traceback
    return answers[0], capsys.readouterr().out


def test_a_script_frame_has_the_loops_own_locals(capsys):
    def at(stepper, snapshot):
        frame = stepper.training_frame()
        norm = {p.name: p.grad.norm for p in snapshot.params}["fc1.weight"]
        return (
            frame.where,
            evaluate(frame, "running_loss"),
            evaluate(frame, "model.fc1.weight.grad.norm()"),
            norm,
        )

    (where, running, grad_norm, norm), out = run_script(at, capsys)
    assert where.startswith("train() at prompt_loop.py:")
    losses_so_far = float(running.text)
    assert losses_so_far > 0 and running.number == losses_so_far
    assert grad_norm.summary is not None and grad_norm.summary.numel == 1
    assert grad_norm.number == pytest.approx(norm, rel=1e-6)


def test_the_value_being_assigned_at_the_pause_is_the_phases(capsys):
    """Paused inside `loss = mse_loss(...)`, `loss` is this batch's loss, not the last one's."""

    def at(stepper, snapshot):
        return evaluate(stepper.training_frame(), "loss.item()").number, snapshot.loss

    (value, loss), _ = run_script(at, capsys, phase=Phase.LOSS)
    assert value == pytest.approx(loss, rel=1e-6)


def test_an_error_is_one_line_and_the_run_goes_on(capsys):
    def at(stepper, snapshot):
        return evaluate(stepper.training_frame(), "model.fc3.weight")

    answer, out = run_script(at, capsys)
    assert answer.error.startswith("AttributeError: ") and "fc3" in answer.error
    assert "\n" not in answer.error
    assert "running_loss=" in out  # the script ran to its end


def test_reading_changes_nothing_of_the_run(capsys):
    """A forward, random numbers and a DataLoader-free model call typed at the prompt: the run
    prints exactly what it prints untouched (same losses, same random numbers)."""
    _, untouched = run_script(lambda stepper, snapshot: None, capsys)

    def at(stepper, snapshot):
        frame = stepper.training_frame()
        return [evaluate(frame, text) for text in ("model(xb).sum()", "torch.randn(5)", "torch.rand(1)")]

    answers, out = run_script(at, capsys)
    assert all(not a.error for a in answers), answers
    assert out == untouched
    assert not any(a.modified for a in answers)  # no BatchNorm: the forward changed no buffer


def test_a_statement_waits_for_the_opt_in_and_then_changes_the_frame(capsys):
    def at(stepper, snapshot):
        frame = stepper.training_frame()
        refused = evaluate(frame, "marker = 'set at the prompt'")
        zeroing = evaluate(frame, "model.fc1.weight.grad.zero_()")
        allowed = evaluate(frame, "marker = 'set at the prompt'", statements=True)
        return refused, zeroing, allowed

    (refused, zeroing, allowed), out = run_script(at, capsys)
    assert "allow statements" in refused.error and not refused.modified
    assert "allow statements" in zeroing.error  # an in-place call is a statement too
    assert not allowed.error and allowed.modified
    assert "marker=set at the prompt " in out  # the assignment reached the script's own local


def test_a_change_made_by_an_expression_is_reported():
    """BatchNorm in train mode updates its running stats on a forward: the answer says so."""
    answers = []

    def controller(snapshot, reason):
        if snapshot.event is not None and snapshot.event.phase is Phase.BACKWARD:
            frame = stepper.training_frame()
            answers.append((evaluate(frame, "model(x).mean()"), evaluate(frame, "model.training")))
            return Command.QUIT
        return Command.STEP

    stepper = scenario_session("mlp").new_stepper(controller=controller, history=0)
    stepper.run()
    forward, mode = answers[0]
    assert forward.modified and not mode.modified and mode.text == "True"


def test_the_numpy_lesson_has_its_names():
    seen = {}

    def controller(snapshot, reason):
        if snapshot.event is not None and snapshot.event.phase is Phase.BACKWARD:
            frame = stepper.training_frame()
            for text in ("w", "b", "w_grad", "L", "lr", "x.shape", "iteration"):
                seen[text] = evaluate(frame, text)
            seen["snapshot"] = snapshot
            return Command.QUIT
        return Command.STEP

    stepper = scenario_session("linreg", "numpy").new_stepper(controller=controller, history=0)
    stepper.run()
    params = {p.name: p for p in seen["snapshot"].params}
    assert seen["w"].number == params["w"].value.scalar()
    assert seen["w_grad"].number == params["w"].grad.scalar()
    assert seen["L"].number == seen["snapshot"].loss
    assert seen["lr"].number == 0.1 and seen["x.shape"].text == "(32, 1)" and seen["iteration"].text == "0"


def test_completion_of_names_and_attributes(capsys):
    def at(stepper, snapshot):
        frame = stepper.training_frame()
        return (
            complete(frame, "runn"),
            complete(frame, "model.f"),
            complete(frame, "(out.argmax(1) == yb).floa"),
        )

    (names, attributes, nested), _ = run_script(at, capsys)
    assert names == ["running_loss"]
    assert {"model.fc1", "model.fc2"} <= set(attributes)
    assert nested[:2] == ["(out.argmax(1) == yb).float", "(out.argmax(1) == yb).float_power"]


def test_asked_from_another_thread_answered_by_the_training_thread():
    """The UI's way: ask() from its thread; the answer is computed in the training thread."""
    stepper = scenario_session("mlp").new_stepper(history=0)
    worker = threading.Thread(target=stepper.run, daemon=True)
    worker.start()
    try:
        stepper.send(Command.STEP, 3)
        threads = stepper.ask(lambda: threading.current_thread()).result(timeout=30)
        answer = stepper.ask(lambda: evaluate(stepper.training_frame(), "loss.item()")).result(timeout=30)
        assert threads is worker
        assert answer.number == pytest.approx(stepper.last_snapshot.loss)
    finally:
        stepper.quit()
        worker.join(30)
    late = stepper.ask(lambda: 1)
    with pytest.raises(Exception, match="the run has ended"):
        late.result(timeout=5)


def test_watches_mark_a_change_a_slow_one_and_skip_a_disabled_one(monkeypatch):
    from loopstep.engine import watches as watch_module
    from loopstep.engine.training_frame import TrainingFrame

    frame = TrainingFrame(names={"n": 1}, globals={}, where="a test")
    watches = watch_module.Watches(["n * 2", "n"])
    first = watches.evaluate(frame)
    assert [w.answer.number for w in first] == [2, 1] and not any(w.changed for w in first)
    frame.names["n"] = 5
    assert [w.changed for w in watches.evaluate(frame)] == [True, True]
    assert [w.changed for w in watches.evaluate(frame)] == [False, False]
    watches.toggle("n")
    monkeypatch.setattr(watch_module, "SLOW_SECONDS", -1.0)  # every evaluation counts as slow
    doubled, off = watches.evaluate(frame)
    assert doubled.slow and doubled.answer.number == 10
    assert off.answer is None  # disabled: not evaluated
    assert watches.evaluate(None, "the run has ended")[0].answer.error == "the run has ended"


def test_an_in_place_numpy_change_is_refused_or_reported():
    answers = []

    def controller(snapshot, reason):
        if snapshot.event is not None and snapshot.event.phase is Phase.STEP:
            frame = stepper.training_frame()
            answers.append(evaluate(frame, "x.fill(0)"))
            answers.append(evaluate(frame, "x.__setitem__(0, 5.0)", statements=True))
            return Command.QUIT
        return Command.STEP

    stepper = scenario_session("linreg", "numpy").new_stepper(controller=controller, history=0)
    stepper.run()
    refused, changed = answers
    assert "allow statements" in refused.error
    assert changed.modified  # the batch's array changed: the fingerprint saw it


def test_a_recording_refuses_statements(tmp_path):
    from loopstep.engine.recording import read_recording, record_session
    from loopstep.engine.recording.replay import replay_session

    path = str(tmp_path / "run.lsr")
    recorded = record_session(scenario_session("linreg", "numpy", max_iterations=1), path)
    recorded.new_stepper(controller=lambda s, r: Command.CONTINUE, history=0).run()
    answers = []

    def controller(snapshot, reason):
        if snapshot.event is not None and snapshot.event.phase is Phase.STEP:
            frame = stepper.training_frame()
            answers.extend(
                [evaluate(frame, "w = 5", statements=True), evaluate(frame, "w"), evaluate(frame, "L")]
            )
            return Command.QUIT
        return Command.STEP

    stepper = replay_session(read_recording(path)).new_stepper(controller=controller, history=0)
    stepper.run()
    statement, w, loss = answers
    assert "cannot be changed" in statement.error and not statement.modified
    assert w.number == stepper.last_snapshot.params[0].value.scalar()
    assert loss.number == stepper.last_snapshot.loss


def test_a_forward_inside_the_loss_call_is_not_the_lines_value(capsys):
    """`loss = mse_loss(model(xb), yb)` paused at the forward: `loss` is not the model's output."""
    script = str(Path(__file__).parents[1] / "scripts" / "long_loop.py")
    seen = []

    def controller(snapshot, reason):
        event = snapshot.event
        if event is not None and event.iteration == 1 and event.phase in (Phase.FORWARD, Phase.LOSS):
            seen.append((event.phase, evaluate(stepper.training_frame(), "loss")))
        if event is not None and event.iteration == 1 and event.phase is Phase.LOSS:
            return Command.QUIT
        return Command.STEP

    stepper = script_session(script, ["--steps", "5"]).new_stepper(controller=controller, history=0)
    stepper.run()
    (_, at_forward), (_, at_loss) = seen
    assert at_forward.summary.numel == 1  # still the last batch's loss, as the script's local has it
    assert at_loss.summary.numel == 1 and at_loss.number == pytest.approx(stepper.last_snapshot.loss)
    assert at_loss.number != at_forward.number
