"""The stepper's side of lockstep (engine/lockstep.py), without processes: a rank other than 0
held by its gate and paused where rank 0 asks; rank 0 asking its aligner at each pause."""

from __future__ import annotations

import threading
import time

from tests.engine.test_stepper import driven, where  # noqa: F401 - the fixture

from loopstep.engine import Command, Phase
from loopstep.engine.breakpoints import parse_conditions
from loopstep.engine.lockstep import LOCKSTEP, PAST_EVERYTHING

__all__ = ["driven"]


class Gate:
    """Closed for the phase ``closed_at`` until opened; open for every other phase."""

    def __init__(self, closed_at: int | None = None, looks_closed: int = 0) -> None:
        self.closed_at = closed_at
        self.looks_closed = looks_closed  # then: closed for this many looks at any phase
        self.opened = threading.Event()
        self.looked_at: list[int] = []
        self.arrivals: list[tuple[int, bool]] = []

    def arrive(self, seq: int, stopped: bool, armed: bool) -> None:
        self.arrivals.append((seq, stopped))
        self.armed = armed

    def may_pass(self, seq: int) -> bool:
        self.looked_at.append(seq)
        if self.looks_closed > 0:
            self.looks_closed -= 1
            return False
        return seq != self.closed_at or self.opened.is_set()


class Aligner:
    def __init__(self, stops_at: int | None = None) -> None:
        self.calls: list[tuple] = []
        self.stops_at = stops_at  # another rank stops at this seq for a condition of its own

    def align(self, seq: int) -> str | None:
        self.calls.append(("align", seq))
        return "rank 1: break: nan" if seq == self.stops_at else None

    def arrived(self, seq: int) -> bool:
        self.calls.append(("arrived", seq))
        return seq == self.stops_at

    def hold(self, seq: int) -> None:
        self.calls.append(("hold", seq))

    def resumed(self, command: str, n: int) -> None:
        self.calls.append(("resumed", command))

    def ended(self) -> None:
        self.calls.append(("ended",))

    def passed(self, seq: int) -> None:
        self.calls.append(("passed", seq))

    def others_at_pause(self) -> list:
        return []

    def ranks_at_pause(self) -> dict:
        return {}

    def settings(self, at, **changed) -> None:
        self.calls.append(("settings", at, changed))


def test_a_rank_held_by_its_gate_pauses_there_when_rank_0_asks(driven):
    run = driven()
    run.wait()  # start
    gate = run.stepper.gate = Gate(closed_at=2)
    run.stepper.send(Command.CONTINUE)
    deadline = time.monotonic() + 30
    while not (gate.looked_at and gate.looked_at[-1] == 2) and time.monotonic() < deadline:
        time.sleep(0.001)
    assert run.stepper.seq == 2 and run.stepper.at_boundary  # held at the loss, not past it
    run.stepper.pause_at_seq(2)
    snap, reason = run.wait()
    assert (where(snap), reason) == ((0, 0, "loss"), LOCKSTEP)
    gate.opened.set()
    snap, reason = run.send(Command.STEP)
    assert (where(snap), reason) == ((0, 0, "backward"), "step")


def test_a_pause_meets_a_pause_asked_for_at_its_phase_while_it_was_paused(driven):
    """Rank 0 asks for the phase this rank already paused at by itself (its own step): the
    command that ends this pause must not leave that request behind to pause it a second time
    at the same phase while rank 0 runs on (it would wait for rank 0 for ever)."""
    run = driven()
    run.wait()
    run.stepper.gate = Gate()
    snap, _ = run.send(Command.STEP)
    assert where(snap) == (0, 0, "forward") and run.stepper.seq == 1
    run.stepper.pause_at_seq(1)  # arrives while this rank is paused there
    run.stepper.gate.looks_closed = 1  # the gate makes it look again for a request on leaving
    snap, reason = run.send(Command.STEP)
    assert (where(snap), reason) == ((0, 0, "loss"), "step")


def test_rank_0_aligns_the_others_at_each_pause_and_holds_them_at_a_validate_one(driven):
    run = driven()
    run.wait()
    aligner = run.stepper.aligner = Aligner()
    snap, _ = run.send(Command.STEP)
    assert where(snap) == (0, 0, "forward")
    assert aligner.calls == [("passed", 0), ("align", 1)]
    aligner.calls.clear()
    snap, _ = run.send(Command.EPOCH)
    assert snap.event.phase is Phase.VALIDATE
    seq = run.stepper.seq
    assert aligner.calls[0] == ("resumed", "epoch") and aligner.calls[-1] == ("hold", seq)
    passed = [c[1] for c in aligner.calls if c[0] == "passed"]
    assert passed == list(range(1, seq + 1))  # every training phase said, in order
    arrived = [c[1] for c in aligner.calls if c[0] == "arrived"]
    assert arrived == passed[:-1] + [seq]  # each waited for the others first (the last: validate's)
    aligner.calls.clear()
    snap, _ = run.send(Command.STEP)
    assert run.stepper.seq == seq + 1  # the validate phase was not counted
    # The others were held, not paused, at the validate pause: no command goes to them.
    assert aligner.calls == [("arrived", seq), ("passed", seq), ("align", seq + 1)]
    run.stepper.send(Command.QUIT)
    run.thread.join(timeout=30)
    assert aligner.calls[-2:] == [("ended",), ("passed", PAST_EVERYTHING)]


def test_a_condition_of_another_rank_pauses_rank_0_at_that_phase_with_its_reason(driven):
    run = driven()
    run.wait()
    run.stepper.aligner = Aligner(stops_at=3)
    snap, reason = run.send(Command.CONTINUE)
    assert (where(snap), reason) == ((0, 0, "backward"), "rank 1: break: nan")
    assert run.stepper.aligner.calls[-2:] == [("arrived", 3), ("align", 3)]
    snap, reason = run.send(Command.STEP)  # once: the stop does not pause it there again
    assert (where(snap), reason) == ((0, 0, "step"), "step")


def test_another_rank_says_it_arrived_at_each_phase_and_whether_its_condition_stopped_it(driven):
    run = driven()
    run.wait()
    gate = run.stepper.gate = Gate()
    run.stepper.set_conditions(parse_conditions(["phase=backward"]))
    snap, _ = run.send(Command.STEP)
    assert where(snap) == (0, 0, "forward") and gate.arrivals == [
        (0, False),
        (1, False),
    ]  # a step: not its own
    snap, reason = run.send(Command.CONTINUE)
    assert (where(snap), reason) == ((0, 0, "backward"), "break: phase=backward")
    # Said before it waits at its pause: rank 0, waiting for it to arrive, pauses there too.
    assert gate.arrivals == [(0, False), (1, False), (2, False), (3, True)]
    assert gate.armed  # it has a condition: rank 0 waits for it at each phase


def test_a_rank_paused_by_rank_0_where_its_condition_holds_does_not_stop_again_a_phase_later(driven):
    """Rank 0 pauses this rank at the first phase of iteration 1, where its own
    ``iteration=1`` holds too: the condition saw that phase, so going on does not stop the
    job again at the next one as if the iteration began there (a race seen in a torchrun job)."""
    probe = driven()
    probe.wait()
    snap, _ = probe.send(Command.STEP)
    while snap.event.iteration < 1:
        snap, _ = probe.send(Command.STEP)
    first_of_iteration_1 = probe.stepper.seq
    run = driven()
    run.wait()  # start
    run.stepper.set_conditions(parse_conditions(["iteration=1"]))
    run.stepper.gate = Gate()
    run.stepper.pause_at_seq(first_of_iteration_1)
    snap, reason = run.send(Command.CONTINUE)
    assert (snap.event.iteration, reason) == (1, LOCKSTEP)
    run.stepper.send(Command.CONTINUE)
    assert run.finished.wait(30)
    assert run.pauses.empty()
