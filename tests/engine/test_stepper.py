"""The controls: step, next, epoch, run N, continue, pause from another thread, quit, settings."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from loopstep.engine import Command, Listener, Phase, RunState, Stepper
from loopstep.scenarios import build


class Driven:
    """A stepper running in a thread, driven the way the app drives it."""

    def __init__(self, **kw):
        self.pauses: queue.Queue = queue.Queue()
        self.finished = threading.Event()
        listener = Listener(
            on_pause=lambda snap, reason: self.pauses.put((snap, reason)),
            on_finish=lambda snap: self.finished.set(),
            on_error=lambda err, snap: self.finished.set(),
        )
        self.stepper = Stepper(
            build(kw.pop("scenario", "linreg"), kw.pop("backend", "numpy"), **kw), listener=listener
        )
        self.thread = threading.Thread(target=self.stepper.run, daemon=True)
        self.thread.start()

    def wait(self, timeout=30):
        return self.pauses.get(timeout=timeout)

    def send(self, command, n=0):
        self.stepper.send(command, n)
        return self.wait()

    def close(self):
        self.stepper.send(Command.QUIT)
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


@pytest.fixture
def driven():
    runs = []

    def make(**kw):
        run = Driven(**kw)
        runs.append(run)
        return run

    yield make
    for run in runs:
        run.close()


def where(snap):
    return (snap.event.epoch, snap.event.iteration, snap.event.phase.value) if snap.event else None


def test_starts_paused_before_anything_ran(driven):
    run = driven()
    snap, reason = run.wait()
    assert snap.event is None and reason == "start"
    assert run.stepper.state is RunState.PAUSED
    assert [p.value.preview[0] for p in snap.params] == [-0.5, 0.0]


def test_step_next_epoch_and_run(driven):
    run = driven()
    run.wait()
    assert where(run.send(Command.STEP)[0]) == (0, 0, "forward")
    assert where(run.send(Command.STEP)[0]) == (0, 0, "loss")
    assert where(run.send(Command.NEXT)[0]) == (0, 0, "zero_grad")
    assert where(run.send(Command.NEXT)[0]) == (0, 1, "zero_grad")
    assert where(run.send(Command.EPOCH)[0]) == (0, 7, "validate")
    assert where(run.send(Command.RUN, 3)[0]) == (1, 10, "zero_grad")
    assert where(run.send(Command.EPOCH)[0]) == (1, 15, "validate")


def test_continue_runs_to_the_end(driven):
    run = driven(epochs=2)
    run.wait()
    run.stepper.send(Command.CONTINUE)
    assert run.finished.wait(30)
    assert run.stepper.state is RunState.FINISHED
    assert len(run.stepper.history.train) == 16 and len(run.stepper.history.val) == 2


def test_pause_request_from_another_thread_stops_within_one_phase(driven):
    run = driven(scenario="linreg", epochs=2000)
    run.wait()
    run.stepper.send(Command.CONTINUE)
    time.sleep(0.2)
    before = len(run.stepper.history.train)
    run.stepper.request_pause()
    snap, reason = run.wait()
    assert reason == "paused"
    assert run.stepper.state is RunState.PAUSED
    assert before <= len(run.stepper.history.train) <= before + 2
    time.sleep(0.1)
    assert run.pauses.empty()  # really paused: nothing else arrives


def test_zero_grad_setting_changes_between_phases(driven):
    run = driven()
    run.wait()
    run.stepper.change_settings(zero_grad=False)
    snap, _ = run.send(Command.NEXT)
    assert snap.event.phase is Phase.ZERO_GRAD and snap.event.skipped
    assert not snap.zero_grad_on and snap.grad_passes == 1
    snap, _ = run.send(Command.NEXT)
    assert snap.grad_passes == 2 and all(p.grad_passes == 2 for p in snap.params)
    run.stepper.change_settings(zero_grad=True)
    snap, _ = run.send(Command.NEXT)
    assert not snap.event.skipped and snap.grad_passes == 0


def test_learning_rate_change_applies_to_the_next_step(driven):
    run = driven()
    run.wait()
    run.stepper.change_settings(lr=0.0)
    snap, _ = run.send(Command.NEXT)
    assert snap.lr == 0.0
    assert [p.value.preview[0] for p in snap.params] == [-0.5, 0.0]  # lr 0: nothing moved


def test_quit_unwinds_the_training_thread(driven):
    run = driven()
    run.wait()
    run.send(Command.STEP)
    run.stepper.send(Command.QUIT)
    run.thread.join(10)
    assert not run.thread.is_alive()
    assert run.stepper.state is RunState.FINISHED


def test_error_in_training_code_is_kept_for_post_mortem():
    loop = build("linreg", "numpy")
    original = loop.backend.step
    calls = {"n": 0}

    def broken_step(*, detail):
        calls["n"] += 1
        if calls["n"] == 3:
            raise FloatingPointError("boom in step")
        original(detail=detail)

    loop.backend.step = broken_step
    errors = []
    stepper = Stepper(
        loop,
        controller=lambda s, r: Command.CONTINUE,
        listener=Listener(on_error=lambda e, s: errors.append((e, s))),
    )
    assert stepper.run() is RunState.FAILED
    err, snap = errors[0]
    assert err.phase == "step" and "boom in step" in err.traceback
    assert snap is not None and snap.event.phase is Phase.BACKWARD and snap.event.iteration == 2
