"""The comparison of a job's ranks (engine/rank_checks.py) over a fake exchange: what rank 0
reports from the others' fingerprints and findings."""

from __future__ import annotations

from loopstep.engine.diagnostics import Diagnostics
from loopstep.engine.findings import Finding
from loopstep.engine.phases import Phase, PhaseEvent
from loopstep.engine.rank_checks import RankChecks


class Exchange:
    rank, world_size = 0, 2

    def __init__(self, others: dict[str, dict[int, object]]) -> None:
        self.others = others
        self.shared: dict[str, object] = {}
        self.waited: list[float] = []

    def share(self, key, value):
        self.shared[key] = value

    def gather(self, key, timeout):
        self.waited.append(timeout)
        return {0: self.shared[key], **self.others.get(key, {})} if key in self.shared else {}


def run_of(losses, findings=(), steps=()):
    return {"losses": losses, "steps": list(steps), "findings": [f.to_json() for f in findings]}


def checks_after(losses, others, *, epochs=((0, 8),)):
    diagnostics = Diagnostics()
    checks = RankChecks(Exchange(others), diagnostics)
    for epoch, batches in epochs:
        for batch in range(batches):
            checks.observe(PhaseEvent(Phase.FORWARD, epoch, batch, epoch * 100 + batch), None)
    for i, loss in enumerate(losses):
        checks.observe(PhaseEvent(Phase.LOSS, 0, i, i, loss=loss), None)
    return checks, diagnostics


def structural_same_batches() -> Finding:
    return Finding("ddp-same-batches", "error", 0, "train.py:9", "no DistributedSampler", "", "")


def test_the_same_first_losses_on_every_rank_are_the_same_batches():
    checks, diagnostics = checks_after([2.5, 2.25, 2.0], {"run": {1: run_of([2.5, 2.25, 2.0])}})
    checks.finish()
    assert [f.id for f in diagnostics.findings] == ["ddp-same-batches"]


def test_ranks_reading_batches_of_their_own_withdraw_the_loaders_suspicion():
    checks, diagnostics = checks_after([2.5, 2.25, 2.0], {"run": {1: run_of([3.1, 2.9, 2.4])}})
    diagnostics.findings.append(structural_same_batches())  # a plain DataLoader over a slice
    checks.finish()
    assert diagnostics.findings == []


def test_another_ranks_finding_joins_rank_0s_report_once_and_says_whose():
    theirs = Finding("grad-none", "warning", 3, "train.py:20", "head.bias has no .grad", "w", "f")
    checks, diagnostics = checks_after([2.5], {"run": {1: run_of([3.0], [theirs, theirs])}})
    checks.finish()
    assert [(f.id, f.message) for f in diagnostics.findings] == [
        ("grad-none", "rank 1: head.bias has no .grad")
    ]


def test_a_rank_that_never_finished_is_missing_and_its_batches_still_compare():
    """Rank 1 is held in a last all-reduce: it shared its batch counts as it went, not its run."""
    checks, diagnostics = checks_after([2.5], {"batches": {1: {"0": 9}}})
    checks.finish()
    assert checks.missing == [1]
    [found] = diagnostics.findings
    assert found.id == "ddp-uneven-batches" and "(rank 0: 8, rank 1: 9)" in found.message


def test_a_steps_fingerprints_blame_the_gradients_first_and_count_nan_on_both_ranks_as_agreeing():
    from loopstep.engine.rank_checks import disagreement

    nan = float("nan")
    same = ([3.0, 0.5], [2.0, 0.1])
    assert disagreement(1, same, ([3.0, 0.5], [2.0, 0.1])) is None
    assert disagreement(1, ([nan, nan], [2.0, 0.1]), ([nan, nan], [2.0, 0.1])) is None  # all-reduced NaN
    assert disagreement(1, same, ([3.0, 0.7], [2.5, 0.1]))[0] == "ddp-grad-not-synced"
    found = disagreement(1, same, ([3.0, 0.5], [2.5, 0.1]))
    assert found[0] == "ddp-params-diverged" and "rank 1's differ" in found[1]
