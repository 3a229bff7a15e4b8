"""What-if branches: a fresh copy of the loop from the checkpoint of the iteration in
progress, with the settings the run had. It must be the run that never changed them, to the
last digit, and leave the run itself exactly as it would have gone (torch's random state
included: the mlp scenario's Dropout draws from it)."""

from __future__ import annotations

import pytest

from loopstep.engine import Command, Settings
from loopstep.engine.what_if import NoBranch, run_branch, settings_label
from loopstep.scenarios.base import scenario_session


def stepped(session, *, switch_at: int, branch: bool):
    """Run ``session`` stepping whole iterations; at the end of iteration ``switch_at`` switch
    zero_grad off (and fork a branch first, with ``branch``); then continue to the end."""
    found = {}

    def controller(snapshot, reason):
        event = snapshot.event
        if event is not None and event.iteration == switch_at and event.phase.value == "zero_grad":
            kept = Settings(stepper.settings.zero_grad, stepper.settings.lr)
            stepper.change_settings(zero_grad=False)
            if branch:
                found["branch"] = run_branch(
                    stepper, session.make_source, kept, settings_label(kept, stepper.settings)
                )
            return Command.CONTINUE
        return Command.NEXT

    stepper = session.new_stepper(controller=controller)
    stepper.run()
    assert stepper.error is None, stepper.error and stepper.error.traceback
    return stepper, found.get("branch")


def plain_curve(session):
    stepper = session.new_stepper(controller=lambda snapshot, reason: Command.CONTINUE)
    stepper.run()
    return [(p.iteration, p.loss) for p in stepper.history.train]


@pytest.mark.parametrize("name, backend", [("linreg", "numpy"), ("mlp", "torch")])
def test_the_branch_is_the_run_that_kept_zero_grad_and_the_run_goes_on_untouched(name, backend):
    if backend == "torch":
        pytest.importorskip("torch")
    session = scenario_session(name, backend)
    with_branch, branch = stepped(session, switch_at=3, branch=True)
    without, _ = stepped(session, switch_at=3, branch=False)
    assert branch.label == "zero_grad on" and branch.since == 3
    # The run itself: the same numbers whether a branch ran at its pause or not.
    assert with_branch.history.train == without.history.train
    # The branch: the plain run's curve from the fork on, exactly.
    assert [(p.iteration, p.loss) for p in branch.curve] == plain_curve(session)[3:]
    assert without.history.train[-1].loss > 2 * branch.curve[-1].loss  # and the two parted


def test_no_branch_where_the_settings_changed_since_the_checkpoint():
    session = scenario_session("linreg", "numpy")
    said = []

    def controller(snapshot, reason):
        event = snapshot.event
        if event is not None and event.iteration == 1 and event.phase.value == "loss":
            stepper.change_settings(zero_grad=False)  # applied at once, inside iteration 1
        if event is not None and event.iteration == 1 and event.phase.value == "step":
            kept = Settings(False, stepper.settings.lr)
            stepper.change_settings(zero_grad=True)
            with pytest.raises(NoBranch) as refused:
                run_branch(stepper, session.make_source, kept, "zero_grad off")
            said.append(str(refused.value))
            return Command.QUIT
        return Command.STEP

    stepper = session.new_stepper(controller=controller)
    stepper.run()
    assert said == ["no what-if branch: the settings changed since the last checkpoint"]


def test_a_session_over_the_callers_own_model_makes_no_branches():
    """loopstep.debug trains the caller's objects: a branch would train them too."""
    torch = pytest.importorskip("torch")
    from loopstep.experiment import Experiment, experiment_session, restartable

    model = torch.nn.Linear(1, 1)
    experiment = Experiment(
        model, torch.optim.SGD(model.parameters(), lr=0.1), torch.nn.MSELoss(),
        [(torch.ones(4, 1), torch.ones(4, 1))], None, 1, title="debug",
    )  # fmt: skip
    assert not experiment_session(restartable(experiment), "debug", first=experiment).branches
    assert scenario_session("linreg", "numpy").branches


def test_settings_label_names_what_the_branch_kept():
    assert settings_label(Settings(True, 0.1), Settings(False, 0.1)) == "zero_grad on"
    assert settings_label(Settings(True, 0.05), Settings(True, 0.5)) == "lr 0.05"


def test_a_recorded_run_makes_no_branches(tmp_path):
    """A branch's fresh source would be a second recording over the run's own file."""
    from loopstep.engine.recording import record_session

    session = record_session(scenario_session("linreg", "numpy"), str(tmp_path / "run.lsr"))
    assert not session.branches
