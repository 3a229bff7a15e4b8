"""A setting changed at rank 0's pause is changed on every rank, at the same phase: zero_grad
off on rank 0 alone would part a DDP job's parameters (its other ranks would still clear
their .grad), and the NumPy and PyTorch loops of ``demo --compare`` likewise."""

from __future__ import annotations

from loopstep.frontend.distributed import RankPlace
from loopstep.frontend.lockstep import JobRanks


class Link:
    def __init__(self, rank: int) -> None:
        self.rank = rank
        self.sent: list[tuple[str, dict]] = []

    def send(self, kind: str, **fields) -> None:
        self.sent.append((kind, fields))


def test_rank_0_sends_the_setting_with_the_command_that_goes_on_from_its_pause(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    ranks = JobRanks(RankPlace(rank=0, world_size=3, local_rank=0, job="job", local_world_size=3))
    links = [Link(1), Link(2)]
    ranks._links = links
    ranks.settings(4, zero_grad=False)
    ranks.settings(4, lr=0.05)  # two changes at one pause: both go
    ranks.resumed("step", 1)
    ranks.resumed("step", 1)  # the next command: nothing changed since
    for link in links:
        assert link.sent == [
            ("settings", {"zero_grad": False, "lr": 0.05}),
            ("command", {"command": "step", "n": 1}),
            ("command", {"command": "step", "n": 1}),
        ]


def test_a_stepper_tells_its_aligner_of_each_change():
    from loopstep.engine import Settings, Stepper
    from loopstep.scenarios import build

    told = []

    class Aligner:
        def settings(self, at, **changed) -> None:
            told.append((at, changed))

    stepper = Stepper(build("linreg", "numpy"), settings=Settings())
    stepper.aligner = Aligner()
    stepper.change_settings(zero_grad=False)
    assert told == [(0, {"zero_grad": False, "lr": None})]
