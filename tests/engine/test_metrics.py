"""Metrics over time, measured at each optimizer step: the gradient norm the step used (all
parameters and each one), the update-to-weight ratio and the learning rate. Checked against
the snapshot of the same step pause, which every pane draws from."""

from __future__ import annotations

import math

import pytest

from loopstep.engine import Command
from loopstep.engine.metrics import GRAD_NORM, LR, THIN, UPDATE_RATIO, MetricPoint, top_parameters
from loopstep.scenarios.base import scenario_session


def run(session, controller):
    stepper = session.new_stepper(controller=controller)
    stepper.run()
    assert stepper.error is None, stepper.error and stepper.error.traceback
    return stepper


def test_stepped_by_hand_every_step_is_measured_as_its_pause_shows_it():
    session = scenario_session("linreg", "numpy")
    at_steps = []

    def controller(snapshot, reason):
        event = snapshot.event
        if event is not None and event.phase.value == "step":
            at_steps.append(snapshot)
        return Command.STEP if len(at_steps) < 6 else Command.QUIT

    stepper = run(session, controller)
    series = stepper.metrics.series
    for snapshot in at_steps:
        at = snapshot.event.iteration
        grads = {p.name: p.grad.norm for p in snapshot.params}
        [point] = [p for p in series[GRAD_NORM] if p.iteration == at]
        assert point.value == pytest.approx(math.sqrt(sum(n * n for n in grads.values())), rel=1e-12)
        for name, norm in grads.items():
            [one] = [p for p in series[f"grad_norm[{name}]"] if p.iteration == at]
            assert one.value == pytest.approx(norm, rel=1e-12)
        change = math.sqrt(sum(p.change.norm**2 for p in snapshot.params))
        weight = math.sqrt(sum(p.value.norm**2 for p in snapshot.params))
        [ratio] = [p for p in series[UPDATE_RATIO] if p.iteration == at]
        assert ratio.value == pytest.approx(change / weight, rel=1e-9)
        [lr] = [p for p in series[LR] if p.iteration == at]
        assert lr.value == snapshot.lr
    # the snapshot carries them too, as far as the run had come
    assert [p.iteration for p in at_steps[-1].metrics[GRAD_NORM]] == list(range(len(at_steps)))


def test_in_continue_mode_every_tenth_iteration_unless_a_front_end_charts_one():
    session = scenario_session("linreg", "numpy")
    thin = run(session, lambda snapshot, reason: Command.CONTINUE)
    iterations = [p.iteration for p in thin.metrics.series[GRAD_NORM]]
    assert iterations == list(range(0, 200, THIN))

    def dense(snapshot, reason):
        stepper.metrics.dense = True
        return Command.CONTINUE

    stepper = session.new_stepper(controller=dense)
    stepper.run()
    assert [p.iteration for p in stepper.metrics.series[GRAD_NORM]] == list(range(200))
    # the thinned points are the dense ones, not an estimate
    assert thin.metrics.series[GRAD_NORM] == stepper.metrics.series[GRAD_NORM][::THIN]


def test_torch_measures_the_update_ratio_only_once_asked_and_then_as_the_step_moved_the_weights():
    pytest.importorskip("torch")
    session = scenario_session("linreg", "torch")
    at_steps = []

    def controller(snapshot, reason):
        event = snapshot.event
        if event is not None and event.phase.value == "step":
            at_steps.append(snapshot)
            stepper.metrics.updates_wanted = True
        return Command.STEP if len(at_steps) < 4 else Command.QUIT

    stepper = session.new_stepper(controller=controller)
    stepper.run()
    ratios = stepper.metrics.series[UPDATE_RATIO]
    assert [p.iteration for p in ratios] == [1, 2, 3]  # asked at the first step: from the next one
    for snapshot in at_steps[1:]:
        change = math.sqrt(sum(p.change.norm**2 for p in snapshot.params))
        weight = math.sqrt(sum(p.value.norm**2 for p in snapshot.params))
        [ratio] = [p for p in ratios if p.iteration == snapshot.event.iteration]
        assert ratio.value == pytest.approx(change / weight, rel=1e-5)


def test_a_step_back_forgets_the_metrics_of_what_did_not_happen():
    session = scenario_session("linreg", "numpy")
    seen, measured = [], {}

    def controller(snapshot, reason):
        seen.append(reason)
        if len(seen) == 12:  # at iteration 2's forward: back to iteration 1's
            measured["before"] = list(stepper.metrics.series[GRAD_NORM])
            return Command.BACK, 5
        if len(seen) == 13:
            measured["rewound"] = list(stepper.metrics.series[GRAD_NORM])
        if len(seen) > 16:  # past iteration 1's step again
            return Command.QUIT
        return Command.STEP

    stepper = session.new_stepper(controller=controller)
    stepper.run()
    assert seen[12] == "stepped back"
    assert [p.iteration for p in measured["before"]] == [0, 1]
    assert [p.iteration for p in measured["rewound"]] == [0]
    assert stepper.metrics.series[GRAD_NORM] == measured["before"]  # measured again, the same


def test_the_layers_shown_are_those_with_the_largest_last_norm_a_nan_first():
    series = {
        "grad_norm": (MetricPoint(0, 9.0),),
        "grad_norm[a]": (MetricPoint(0, 1.0),),
        "grad_norm[b]": (MetricPoint(0, 3.0),),
        "grad_norm[c]": (MetricPoint(0, float("nan")),),
        "grad_norm[d]": (MetricPoint(0, 2.0),),
    }
    assert top_parameters(series, 3) == ["c", "b", "d"]
