"""The "what just happened" sentence: one per phase, from the engine's snapshots alone."""

from __future__ import annotations

from loopstep.engine import Command, Phase, Settings, Stepper
from loopstep.engine.explain import explain
from loopstep.scenarios import build


def snapshots(iterations: int, *, zero_grad: bool = True):
    """Every snapshot of the first iterations of linreg (numpy), in order."""
    return _snapshots_of(build("linreg", "numpy"), iterations, zero_grad=zero_grad)


def _snapshots_of(loop, iterations: int, *, zero_grad: bool = True):
    seen = []

    def every_phase(snapshot, reason):
        seen.append(snapshot)
        return Command.STEP

    stepper = Stepper(
        loop,
        controller=every_phase,
        max_iterations=iterations,
        settings=Settings(zero_grad=zero_grad),
        pause_at_start=True,
    )
    stepper.run()
    return seen


def test_every_phase_gets_its_own_sentence():
    seen = snapshots(1)
    lines = [explain(prev, cur) for prev, cur in zip([None, *seen], seen)]
    assert lines[0].startswith("Nothing has run yet")
    by_phase = {cur.event.phase: line for cur, line in zip(seen[1:], lines[1:])}
    assert set(by_phase) == {Phase.FORWARD, Phase.LOSS, Phase.BACKWARD, Phase.STEP, Phase.ZERO_GRAD}
    assert by_phase[Phase.FORWARD].startswith("forward: the model turned 32 examples")
    assert "L = 32.29" in by_phase[Phase.LOSS]
    assert (
        by_phase[Phase.BACKWARD] == "backward: the gradient of L filled .grad of w and b; nothing moved yet."
    )
    assert "w by +2.372" in by_phase[Phase.STEP] and "b by +0.537" in by_phase[Phase.STEP]
    assert "reset to zero" in by_phase[Phase.ZERO_GRAD]


def test_loss_says_which_way_it_moved():
    seen = snapshots(2)
    second_loss = [s for s in seen if s.event and s.event.phase is Phase.LOSS][1]
    assert "down from 32.29 last batch" in explain(None, second_loss)


def test_without_zero_grad_the_sentences_count_the_summed_passes():
    seen = snapshots(3, zero_grad=False)
    backward = [s for s in seen if s.event and s.event.phase is Phase.BACKWARD]
    assert [s.grad_passes for s in backward] == [1, 2, 3]
    assert "now sums 3 backward passes" in explain(None, backward[-1])
    skipped = [s for s in seen if s.event and s.event.phase is Phase.ZERO_GRAD][-1]
    assert explain(None, skipped).startswith(
        "zero_grad skipped: .grad still holds the sum of 3 backward passes"
    )
    step = [s for s in seen if s.event and s.event.phase is Phase.STEP][-1]
    assert "a sum of 3 passes)" in explain(None, step)


def test_validate_and_finish():
    seen = snapshots(8)  # one epoch of 8 batches, then validate
    validate = [s for s in seen if s.event and s.event.phase is Phase.VALIDATE]
    assert validate and explain(None, validate[0]).startswith("validate: in eval() mode under no_grad")
    finished = validate[0].__class__(**{**validate[0].__dict__, "finished": True})
    assert explain(None, finished).startswith("finished: 8 iterations ran")


def test_engine_explain_imports_no_ui():
    import loopstep.engine.explain as module

    source = open(module.__file__, encoding="utf-8").read()
    assert "textual" not in source and "import rich" not in source and "from rich" not in source


def test_step_names_the_rule_that_really_moved_the_weights():
    sgd = _snapshots_of(build("linreg", "numpy"), 1)
    adam = _snapshots_of(build("mlp", "torch"), 1)
    sgd_step = [s for s in sgd if s.event and s.event.phase is Phase.STEP][-1]
    adam_step = [s for s in adam if s.event and s.event.phase is Phase.STEP][-1]
    assert "−lr·.grad (lr=0.1)" in explain(None, sgd_step)
    assert "the optimizer's update rule" in explain(None, adam_step)
