"""The mistakes only several ranks show, found by comparing them (``loopstep check`` under
torchrun; the app compares the ranks' snapshots at each step it pauses at, with
:func:`ranks_disagree`): each rank keeps small fingerprints of its run and shares them through loopstep's
own channel (a :class:`~.protocols.RankExchange`, never the user's process group); rank 0
compares them at the end and adds what it finds, and the other ranks' own findings, to one
report.

- **ddp-same-batches**: the first losses are the same on every rank. DDP starts every rank
  from rank 0's parameters, so the same batch gives the very same loss: the ranks read the
  same batches. When they differ, the structural suspicion of :mod:`distributed_data`
  (a DataLoader without a DistributedSampler) is withdrawn: the script shards by hand.
- **ddp-uneven-batches**: an epoch had more batches on one rank than on another.
- **ddp-grad-not-synced**: a step used gradients that differ across ranks (never
  all-reduced: ``no_sync()`` misuse, or ``.grad`` changed on one rank after the all-reduce).
- **ddp-params-diverged**: the gradients agreed but the parameters after the step do not
  (a rank-dependent update: an lr or an update of one rank's own).

Fingerprints are each parameter's norm (and its gradient's) at each step, compared with a
relative tolerance: equal ranks agree to the last bit, diverged ones at once by far more.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .findings import Finding
from .phases import Phase, PhaseEvent

if TYPE_CHECKING:
    from .diagnostics import Diagnostics
    from .protocols import RankExchange
    from .snapshot import Snapshot
    from .stepper import Stepper

#: How many first losses say whether the ranks read the same batches.
FIRST_LOSSES = 3
#: Relative difference below which two ranks' numbers are the same.
TOLERANCE = 1e-5
#: How long rank 0 waits, once its run is over, for the others' to be.
END_WAIT_S = 20.0


def _same(a: list[float], b: list[float]) -> bool:
    """Equal within TOLERANCE; NaN on both ranks is the same (an all-reduced NaN)."""
    return len(a) == len(b) and all(
        x == y or (math.isnan(x) and math.isnan(y)) or abs(x - y) <= TOLERANCE * max(abs(x), abs(y))
        for x, y in zip(a, b)
    )


class RankChecks:
    """An observer of each rank's run (see the module's docstring)."""

    def __init__(self, exchange: RankExchange, diagnostics: Diagnostics) -> None:
        self.exchange = exchange
        self.diagnostics = diagnostics
        self._losses: list[float] = []
        #: epoch -> training batches seen in it (shared as they come: a rank held for ever in
        #: a last all-reduce still tells how many it had).
        self._batches: dict[int, int] = {}
        #: epoch -> (its first iteration, where its first forward ran), to say where
        self._epoch_starts: dict[int, tuple[int, str]] = {}
        #: (iteration, location, grad norms, parameter norms after the step) per step
        self._steps: list[tuple[int, str, list[float], list[float]]] = []
        #: Ranks whose run had not ended when rank 0 compared (held in a collective?).
        self.missing: list[int] = []

    def observe(self, event: PhaseEvent, stepper: Stepper) -> None:
        phase = event.phase
        if phase is Phase.FORWARD:
            if event.epoch not in self._epoch_starts:
                where = str(event.location) if event.location is not None else ""
                self._epoch_starts[event.epoch] = (event.iteration, where)
            if self._batches.get(event.epoch, 0) < event.batch + 1:
                self._batches[event.epoch] = event.batch + 1
                self.exchange.share("batches", self._batches)
        elif phase is Phase.LOSS and not event.series and len(self._losses) < FIRST_LOSSES:
            if event.loss is not None and math.isfinite(event.loss):
                self._losses.append(event.loss)
        elif phase is Phase.STEP or phase is Phase.UPDATE:
            where = str(event.location) if event.location is not None else ""
            self._steps.append((event.iteration, where, *fingerprint(stepper.snapshot())))

    def rewound(self, iteration: int, stepper: Stepper) -> None:
        """A check never steps back."""

    def finish(self) -> None:
        """The run is over: share it; rank 0 compares every rank's and adds the findings."""
        own = {
            "losses": self._losses,
            "steps": self._steps,
            "findings": [f.to_json() for f in self.diagnostics.findings],
        }
        self.exchange.share("run", own)
        if self.exchange.rank != 0:
            return
        runs = self.exchange.gather("run", END_WAIT_S)
        batches = self.exchange.gather("batches", 0)
        self.missing = [r for r in range(self.exchange.world_size) if r not in runs]
        self._uneven(batches)
        others = {rank: run for rank, run in runs.items() if rank != 0}
        if others:
            self._same_batches(others)
            self._steps_compared(others)
        for rank, run in sorted(others.items()):
            for found in run["findings"]:
                self._merge(rank, Finding(**found))

    # ----- the comparisons --------------------------------------------------------------------
    def _add(self, id: str, message: str, iteration: int, location: str) -> None:
        event = PhaseEvent(Phase.STEP, 0, 0, iteration)
        self.diagnostics.add(id, event, message, location=location, iteration=iteration)

    def _uneven(self, batches: dict[int, object]) -> None:
        counts = {rank: {int(e): n for e, n in dict(b).items()} for rank, b in batches.items()}
        # Ranks that stop together (--iterations) stop at the same batch of their last epoch
        # when they are even: every epoch compares, the last one too.
        for epoch in sorted({e for c in counts.values() for e in c}):
            seen = {rank: c[epoch] for rank, c in counts.items() if epoch in c}
            if len(set(seen.values())) > 1:
                said = ", ".join(f"rank {r}: {n}" for r, n in sorted(seen.items()))
                iteration, where = self._epoch_starts.get(epoch, (0, ""))
                self._add(
                    "ddp-uneven-batches",
                    f"epoch {epoch} had a different number of batches on the ranks ({said})",
                    iteration,
                    where,
                )
                return

    def _same_batches(self, others: dict[int, dict]) -> None:
        mine = self._losses
        if not mine:
            return
        same = all(_same(mine, run["losses"]) for run in others.values())
        findings = self.diagnostics.findings
        if same:
            self._add(
                "ddp-same-batches",
                f"the first {len(mine)} losses are the same on all {self.exchange.world_size} "
                "ranks: every rank trains on the same batches",
                0,
                "",
            )
        else:  # each rank read batches of its own: whatever the loader looked like, it shards
            findings[:] = [f for f in findings if f.id != "ddp-same-batches"]

    def _steps_compared(self, others: dict[int, dict]) -> None:
        for index, (iteration, where, grads, params) in enumerate(self._steps):
            for rank, run in sorted(others.items()):
                if index >= len(run["steps"]):
                    continue
                _, _, their_grads, their_params = run["steps"][index]
                found = disagreement(rank, (grads, params), (their_grads, their_params))
                if found is not None:
                    self._add(*found, iteration, where)
                    return

    def _merge(self, rank: int, found: Finding) -> None:
        """Another rank's finding joins the report, unless rank 0 found the same."""
        findings = self.diagnostics.findings
        if found.id == "ddp-same-batches" or any(f.id == found.id for f in findings):
            return
        findings.append(
            Finding(
                found.id,
                found.severity,
                found.iteration,
                found.location,
                f"rank {rank}: {found.message}",
                found.why,
                found.fix,
            )
        )


def fingerprint(snapshot: Snapshot) -> tuple[list[float], list[float]]:
    """(each .grad's norm, each parameter's norm), by parameter name: what ranks compare."""
    params = sorted(snapshot.params, key=lambda p: p.name)
    return [p.grad.norm if p.grad is not None else 0.0 for p in params], [p.value.norm for p in params]


def disagreement(rank: int, own: tuple[list[float], list[float]], theirs: tuple[list[float], list[float]]):
    """(finding id, message) when rank 0's step fingerprint and ``rank``'s differ, else None:
    the gradients first (a step on unsynced ones), then the parameters after the step."""
    (grads, params), (their_grads, their_params) = own, theirs
    if not _same(grads, their_grads):
        return (
            "ddp-grad-not-synced",
            f"the step used gradients that differ between rank 0 and rank {rank} "
            f"(total norm {math.hypot(*grads):.6g} vs {math.hypot(*their_grads):.6g})",
        )
    if not _same(params, their_params):
        return (
            "ddp-params-diverged",
            f"after this step rank 0's parameters and rank {rank}'s differ (total norm "
            f"{math.hypot(*params):.6g} vs {math.hypot(*their_params):.6g}), though the "
            "gradients it used agreed",
        )
    return None


def ranks_disagree(own: Snapshot, others: dict[int, Snapshot]) -> tuple[str, str] | None:
    """At a step paused on every rank (the app's view of a job): what :func:`disagreement`
    finds between rank 0 and the first other rank that differs; None at any other phase."""
    if own.event is None or own.event.phase not in (Phase.STEP, Phase.UPDATE):
        return None
    mine = fingerprint(own)
    for rank, other in sorted(others.items()):
        found = disagreement(rank, mine, fingerprint(other))
        if found is not None:
            return found
    return None
