"""Step back: rewind + replay reproduces the run bit for bit; what-if diverges."""

from __future__ import annotations

import numpy as np
import pytest

from loopstep.engine import Command, Phase, Stepper
from loopstep.engine.rewind import MB, Checkpoint, CheckpointWindow
from loopstep.scenarios import build


def exact_state(stepper: Stepper) -> dict:
    """Every parameter and .grad as full arrays, plus the loss: what must match bit for bit."""
    snap = stepper.last_snapshot
    out = {"loss": snap.loss, "passes": snap.grad_passes}
    for p in snap.params:
        out[p.name] = stepper.tensor_values(p.name)
        out[p.name + ".grad"] = stepper.tensor_values(p.name + ".grad")
    return out


def same(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if x is None or y is None or x.shape != y.shape or not np.array_equal(x, y):
                return False
        elif x != y:
            return False
    return True


def scripted(loop, commands, **kw):
    """Run with a list of commands; record (reason, iteration, phase, exact state) at each pause."""
    pauses = []
    queue = list(commands)
    stepper = None

    def controller(snapshot, reason):
        event = snapshot.event
        key = (event.iteration, event.phase) if event else None
        pauses.append((reason, key, exact_state(stepper) if event else None))
        return queue.pop(0) if queue else Command.QUIT

    stepper = Stepper(loop, controller=controller, history=kw.pop("history", 32), **kw)
    stepper.run()
    assert stepper.error is None, stepper.error and stepper.error.traceback
    return pauses, stepper


@pytest.mark.parametrize("name,backend", [("linreg", "numpy"), ("mlp", "torch")])
def test_rewind_then_step_forward_reproduces_the_run_bit_for_bit(name, backend):
    # Step through 4 iterations phase by phase, go back 13 phases, step forward again.
    forward = [Command.STEP] * 20
    original, _ = scripted(build(name, backend), forward)
    replayed, stepper = scripted(build(name, backend), forward + [(Command.BACK, 13)] + [Command.STEP] * 13)
    first = {key: state for _, key, state in original if key}
    back = replayed.index(next(p for p in replayed if p[0] == "stepped back"))
    assert replayed[back][1] == replayed[back - 1 - 13][1]  # landed exactly 13 phases back
    after = replayed[back:]
    assert len(after) == 14
    for _, key, state in after:
        assert same(state, first[key]), key
    assert stepper.history.original is not None


def test_step_back_one_phase_at_a_time_through_validate():
    loop = build("linreg", "numpy", epochs=2)
    # 8 batches per epoch: RUN 8 pauses at the 8th zero_grad, STEP at validate; then walk back one by one.
    pauses, _ = scripted(loop, [(Command.RUN, 8), Command.STEP] + [Command.BACK] * 7)
    assert pauses[2][1] == (7, Phase.VALIDATE)
    keys = [key for reason, key, _ in pauses if reason == "stepped back"]
    assert keys[0] == (7, Phase.ZERO_GRAD)
    assert keys[:5] == [
        (7, Phase.ZERO_GRAD),
        (7, Phase.STEP),
        (7, Phase.BACKWARD),
        (7, Phase.LOSS),
        (7, Phase.FORWARD),
    ]
    assert keys[5] == (6, Phase.ZERO_GRAD)


def test_what_if_zero_grad_off_diverges_and_keeps_the_original_curve():
    pauses = []
    stepper = None
    # Iterations 2..29 are 140 phases plus validate after 7, 15 and 23: going back 142 lands on forward 2.
    plan = [(Command.RUN, 30), (Command.BACK, 142)]

    def controller(snapshot, reason):
        pauses.append(reason)
        if reason == "stepped back":
            stepper.change_settings(zero_grad=False)
            return Command.RUN, 28
        return plan.pop(0) if plan else Command.QUIT

    stepper = Stepper(build("linreg", "numpy"), controller=controller, history=32)
    stepper.run()
    assert stepper.error is None
    assert "stepped back" in pauses
    original = {p.iteration: p.loss for p in stepper.history.original}
    what_if = {p.iteration: p.loss for p in stepper.history.train}
    assert sorted(original) == sorted(what_if) == list(range(30))
    assert all(original[i] == what_if[i] for i in range(3))  # identical up to the rewound iteration's loss
    later = range(10, 30)
    assert max(what_if[i] for i in later) > 10 * max(original[i] for i in later)
    assert stepper.last_snapshot.extra["original_losses"] == tuple(stepper.history.original)


def test_no_step_back_past_the_window():
    # Continue mode checkpoints every 8th iteration: with K=3, 16 and 24 are kept after 30 iterations.
    pauses, _ = scripted(build("linreg", "numpy"), [(Command.RUN, 30), (Command.BACK, 100)], history=3)
    assert pauses[-1][0].startswith("cannot step back to iteration")
    assert "history holds iterations" in pauses[-1][0]


def test_without_history_step_back_says_why():
    pauses, _ = scripted(build("linreg", "numpy"), [(Command.RUN, 2), Command.BACK], history=0)
    assert pauses[-1][0].startswith("cannot step back: this run keeps no history")


def test_memory_cap_shrinks_the_window_and_says_so():
    window = CheckpointWindow(iterations=32, max_mb=1.0)
    block = np.zeros(300_000, dtype=np.float8 if hasattr(np, "float8") else np.uint8)  # 0.29 MB
    for i in range(10):
        window.add(Checkpoint(i, 0, i, {"p": block.copy()}, None, None, True, 0.1, 0))
    assert len(window) == 3 and window.total <= 1.0 * MB
    assert window.span == (7, 9)
    assert "reaches 2 iterations, not 32" in window.notice and "--history-mb" in window.notice


def test_continue_mode_checkpoints_sparsely_and_replays_the_gap_bit_for_bit():
    # RUN 20 takes checkpoints at 0, 8 and 16 only; going back to iteration 13 replays 8..13.
    original, _ = scripted(build("mlp"), [Command.STEP] * 100)
    first = {key: state for _, key, state in original if key}
    loop = build("mlp")
    kept = []
    commands = [(Command.RUN, 20), (Command.BACK, 31)] + [Command.STEP] * 10

    def controller(snapshot, reason):
        if reason == "iterations done":
            kept.extend(c.iteration for c in stepper.checkpoints._items)
        return commands.pop(0) if commands else Command.QUIT

    stepper = Stepper(loop, controller=controller, history=32)
    pauses = []
    listener_states = []

    def on_pause(snapshot, reason):
        event = snapshot.event
        pauses.append((reason, (event.iteration, event.phase) if event else None))
        listener_states.append(exact_state(stepper) if event else None)

    stepper.listener.on_pause = on_pause
    stepper.run()
    assert kept == [0, 8, 16]
    back = [i for i, p in enumerate(pauses) if p[0] == "stepped back"][0]
    assert 9 <= pauses[back][1][0] < 16  # between checkpoints: replayed from 8
    for (_, key), state in zip(pauses[back:], listener_states[back:]):
        assert same(state, first[key]), key


def test_a_setting_changed_mid_run_is_replayed_where_it_was_made():
    # zero_grad goes off at iteration 3; a rewind to iteration 6 replays from 0 with the change at 3.
    def run(back: bool):
        later = [(Command.RUN, 5), (Command.BACK, 10)] + [Command.STEP] * 10 if back else [Command.STEP] * 40
        commands = [(Command.RUN, 3), "off", *later]
        stepper = None
        seen = []

        def controller(snapshot, reason):
            seen.append(
                (reason, snapshot.event and (snapshot.event.iteration, snapshot.event.phase), snapshot.loss)
            )
            command = commands.pop(0) if commands else Command.QUIT
            if command == "off":
                stepper.change_settings(zero_grad=False)
                command = commands.pop(0)
            return command

        stepper = Stepper(build("linreg", "numpy"), controller=controller, history=32)
        stepper.run()
        return seen

    straight = {key: loss for reason, key, loss in run(False) if key}
    rewound = run(True)
    back = [i for i, p in enumerate(rewound) if p[0] == "stepped back"][0]
    assert 3 < rewound[back][1][0] < 8  # after the change, before the end
    assert all(loss == straight[key] for _, key, loss in rewound[back:])


def test_checkpoints_are_only_kept_when_asked_for():
    assert Stepper(build("linreg", "numpy")).checkpoints is None
    assert Stepper(build("linreg", "numpy"), history=4).checkpoints is not None


def test_step_back_leaves_no_findings_from_the_undone_phases():
    """A forward undone by step back was not evaluation: mlp has Dropout and BatchNorm, and a
    forward without its backward would otherwise read as eval-in-train-mode."""
    from loopstep.engine.diagnostics import diagnostics_of
    from loopstep.scenarios import scenario_session

    commands = [(Command.RUN, 3), Command.STEP, Command.STEP, (Command.BACK, 4)]
    commands += [Command.STEP] * 8 + [(Command.BACK, 7), (Command.RUN, 40)]

    def controller(snapshot, reason):
        if not commands:
            return Command.QUIT
        command = commands.pop(0)
        return command if isinstance(command, tuple) else (command, 0)

    stepper = scenario_session("mlp").new_stepper(controller=controller)
    stepper.run()
    assert stepper.error is None and stepper.last_event.iteration >= 40
    assert [f.id for f in diagnostics_of(stepper).findings] == []


def test_a_finding_undone_by_step_back_is_found_again_when_the_replay_meets_it():
    from loopstep.engine.diagnostics import diagnostics_of
    from loopstep.scenarios import scenario_session

    seen = []
    commands = [(Command.RUN, 4), (Command.BACK, 17), (Command.RUN, 6)]
    stepper = None

    def controller(snapshot, reason):
        if stepper is not None and snapshot.event is not None:
            ids = [f.id for f in diagnostics_of(stepper).findings]
            seen.append((reason, snapshot.event.iteration, ids))
        return commands.pop(0) if commands else Command.QUIT

    stepper = scenario_session("linreg", zero_grad=False).new_stepper(controller=controller)
    stepper.run()
    (_, _, before), (why, iteration, after_back), (_, _, later) = seen
    assert "zero-grad-missing" in before
    assert why == "stepped back" and iteration == 0 and "zero-grad-missing" not in after_back
    assert "zero-grad-missing" in later
