"""Step back in a script's own loop: the earlier pauses come back exactly as they were shown."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from loopstep.backends.torch.intercept.script import script_session
from loopstep.engine import Command, Phase
from loopstep.engine.lookback import LOOKING_BACK

CLEAN = str(Path(__file__).parent / "scripts" / "clean_train_eval.py")


def scripted(commands, *, history=32, during_look_back=None):
    """Run the clean script with a list of commands; keep (reason, snapshot, values) per pause."""
    pauses = []
    queue = list(commands)
    stepper = None

    def controller(snapshot, reason):
        name = snapshot.params[0].name if snapshot.params else None
        values = stepper.tensor_values(name) if name else None
        pauses.append((reason, snapshot, values))
        if during_look_back is not None and LOOKING_BACK in snapshot.extra:
            during_look_back(stepper)
        if not queue:
            return Command.QUIT
        command = queue.pop(0)
        return command if isinstance(command, tuple) else (command, 0)

    session = script_session(CLEAN, max_iterations=3)
    session.history = history
    stepper = session.new_stepper(controller=controller)
    stepper.run()
    assert stepper.error is None, stepper.error and stepper.error.traceback
    return pauses, stepper


def phase_of(pause):
    event = pause[1].event
    return event.phase if event is not None else None


def test_step_back_shows_the_earlier_phases_as_they_were_and_forward_returns_to_live():
    # The script zeroes first: start -> zero_grad, forward, loss, backward, step.
    steps = [Command.STEP] * 5
    pauses, _ = scripted([*steps, Command.BACK, Command.BACK, Command.STEP, Command.STEP, Command.STEP])
    live = {phase_of(p): p for p in pauses[1:6]}
    assert list(live) == [Phase.ZERO_GRAD, Phase.FORWARD, Phase.LOSS, Phase.BACKWARD, Phase.STEP]
    back1, back2, fwd1, at_live, after = pauses[6:11]
    assert phase_of(back1) is Phase.BACKWARD and back1[0].startswith("look back: 1 pause before")
    assert phase_of(back2) is Phase.LOSS and back2[0].startswith("look back: 2 pauses before")
    assert back2[1].extra[LOOKING_BACK] == 2
    # Exactly what was shown then: same parameters (before the step moved them), same loss.
    for view in (back1, back2):
        then = live[phase_of(view)][1]
        assert view[1].params == then.params and view[1].loss == then.loss
        assert view[2] is None  # the live values are not offered as if they were the old ones
    assert back1[1].params != live[Phase.STEP][1].params  # the step did move them
    assert phase_of(fwd1) is Phase.BACKWARD
    assert phase_of(at_live) is Phase.STEP and at_live[0] == "back at the live phase"
    assert LOOKING_BACK not in at_live[1].extra
    assert np.array_equal(at_live[2], pauses[5][2])  # live values again
    assert phase_of(after) is Phase.ZERO_GRAD and after[1].event.ends_iteration  # the script runs on


def test_looking_back_past_the_oldest_pause_stops_there_and_says_so():
    pauses, _ = scripted([Command.STEP] * 4 + [(Command.BACK, 10)], history=2)
    reason, snapshot, _ = pauses[-1]
    assert phase_of(pauses[-1]) is Phase.FORWARD  # the 2 pauses kept: forward, loss
    assert "the oldest of the 2 pauses kept" in reason


def test_nothing_to_look_back_at_yet():
    pauses, _ = scripted([Command.BACK])
    assert pauses[-1][0] == "cannot step back: no earlier pause in this run yet"


def test_without_history_a_script_cannot_step_back():
    pauses, _ = scripted([Command.STEP, Command.STEP, Command.BACK], history=0)
    assert pauses[-1][0].startswith("cannot step back: this run keeps no history")


def test_continue_from_the_past_continues_the_live_run_with_settings_changed_there():
    def switch_off_zero_grad(stepper):
        stepper.change_settings(zero_grad=False)

    pauses, stepper = scripted(
        [Command.STEP, Command.STEP, Command.BACK, Command.CONTINUE], during_look_back=switch_off_zero_grad
    )
    assert LOOKING_BACK in pauses[3][1].extra
    assert stepper.settings.zero_grad is False
    assert stepper.last_event.iteration == 2  # ran on to --iterations 3
    zero_grads = [e for e in stepper._events if e.phase is Phase.ZERO_GRAD]
    assert not zero_grads[0].skipped  # ran before the change
    assert len(zero_grads) >= 3 and all(e.skipped for e in zero_grads[1:])
