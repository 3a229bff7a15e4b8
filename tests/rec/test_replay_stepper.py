"""A replay is stepped by the normal stepper: the same pauses and the same panes as the run."""

from __future__ import annotations

import pytest

from loopstep.engine import Command
from loopstep.engine.recording import read_recording, record_session, replay_session
from loopstep.engine.recording.replay import RecordedFailure
from loopstep.engine.recording.traces import trace_to_json
from loopstep.scenarios import scenario_session


def pauses(session, commands, **stepper_options):
    """Run a session, answering each pause with the next command; returns the snapshots seen."""
    seen = []
    queue = list(commands)

    def controller(snapshot, reason):
        seen.append((snapshot, reason))
        return queue.pop(0) if queue else Command.CONTINUE

    stepper = session.new_stepper(controller=controller, **stepper_options)
    stepper.run()
    return seen, stepper


COMMANDS = [Command.STEP, Command.STEP, Command.NEXT, Command.STEP, Command.STEP, Command.EPOCH, Command.NEXT]


@pytest.mark.parametrize("zero_grad", [True, False])
def test_replay_pauses_where_the_run_paused_with_the_same_numbers(tmp_path, zero_grad):
    path = str(tmp_path / "run.lsr")
    live_session = record_session(scenario_session("linreg", epochs=2, zero_grad=zero_grad), path)
    live, _ = pauses(live_session, COMMANDS)
    replayed, stepper = pauses(replay_session(read_recording(path)), COMMANDS)
    assert [reason for _, reason in replayed] == [reason for _, reason in live]
    for (a, _), (b, _) in zip(live, replayed):
        assert a.event == b.event
        assert a.zero_grad_on == b.zero_grad_on
        assert (a.model_mode, a.grad_enabled, a.grad_passes) == (b.model_mode, b.grad_enabled, b.grad_passes)
        assert a.losses == b.losses and a.val_losses == b.val_losses
        for pa, pb in zip(a.params, b.params):
            assert pa.value == pb.value
            assert pa.grad == pb.grad
            if pa.change is not None:
                assert pb.change is not None and pb.change.mean == pytest.approx(pa.change.mean)
        assert a.tensors.keys() == b.tensors.keys()
        for name in a.tensors:
            assert a.tensors[name] == b.tensors[name]
        if a.event is not None:
            # The trace the user saw at each pause is in the recording.
            assert b.trace.formulas == a.trace.formulas
            assert b.trace.ops == a.trace.ops
    assert stepper.state.value == "finished"


def test_torch_trace_and_graph_replay(tmp_path):
    path = str(tmp_path / "torch.lsr")
    session = record_session(scenario_session("linreg", "torch", epochs=1), path)
    live, _ = pauses(session, [Command.STEP] * 4)
    replayed, _ = pauses(replay_session(read_recording(path)), [Command.STEP] * 4)
    backward_live = next(s for s, _ in live if s.event and s.event.phase.value == "backward")
    backward_replay = next(s for s, _ in replayed if s.event and s.event.phase.value == "backward")
    assert backward_live.trace.graph is not None
    # GraphNode compares by identity: compare the trees as the recording writes them.
    assert trace_to_json(backward_replay.trace) == trace_to_json(backward_live.trace)
    assert backward_replay.trace.ops == backward_live.trace.ops


def test_phases_run_in_continue_mode_are_replayed_without_a_trace(tmp_path):
    path = str(tmp_path / "fast.lsr")
    pauses(record_session(scenario_session("linreg", epochs=1), path), [Command.CONTINUE])
    recording = read_recording(path)
    assert len(recording.phases) == 8 * 5 + 1 and not recording.traces
    seen, _ = pauses(replay_session(recording), [Command.NEXT, Command.NEXT])
    snapshot = seen[1][0]
    assert snapshot.event.iteration == 0 and snapshot.event.phase.value == "zero_grad"
    assert "no trace was kept" in snapshot.trace.notes[0]


def test_a_failed_run_replays_to_its_failure(tmp_path):
    path = str(tmp_path / "failed.lsr")
    session = record_session(scenario_session("linreg", epochs=1), path)
    calls = []

    def controller(snapshot, reason):
        calls.append(snapshot)
        if len(calls) == 3:
            raise ValueError("boom in training code")
        return Command.STEP

    stepper = session.new_stepper(controller=controller)
    stepper.run()
    assert stepper.error is not None
    recording = read_recording(path)
    assert recording.end["reason"] == "error" and "boom" in recording.end["error"]
    replay = replay_session(recording).new_stepper(controller=lambda s, r: Command.CONTINUE)
    replay.run()
    assert isinstance(replay.error.exception, RecordedFailure)
    assert "boom" in recording.stop_note()


def test_step_back_on_a_replay_shows_the_earlier_phase_again(tmp_path):
    path = str(tmp_path / "back.lsr")
    pauses(record_session(scenario_session("linreg", epochs=2), path), [Command.CONTINUE])
    commands = [Command.STEP] * 12 + [(Command.BACK, 1), (Command.BACK, 6), Command.NEXT]
    seen, stepper = pauses(replay_session(read_recording(path)), commands, history=8)
    events = [snapshot.event for snapshot, _ in seen]
    assert events[12].iteration == 2 and events[12].phase.value == "loss"
    assert events[13] == events[11]  # one phase back
    assert events[14] == events[5]  # six more: the previous iteration
    assert seen[14][0].params == seen[5][0].params
    assert seen[14][0].losses == seen[5][0].losses
    assert events[15].phase.value == "zero_grad" and events[15].iteration == 1
    assert stepper.state.value == "finished"


def test_step_back_during_a_recorded_run_keeps_recording(tmp_path):
    path = str(tmp_path / "live-back.lsr")
    session = record_session(scenario_session("linreg", epochs=1), path)
    commands = [Command.STEP] * 7 + [(Command.BACK, 3)]
    seen, stepper = pauses(session, commands, history=8)
    assert seen[8][0].event == seen[4][0].event  # the live run stepped back
    recording = read_recording(path)
    assert recording.end["reason"] == "finished"
    # Every phase that ran is in the file, the ones run again after the step back included.
    assert len(recording.phases) == 8 * 5 + 1 + 7  # the 7 phases before the step back ran twice
