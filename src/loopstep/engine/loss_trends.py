"""Whether a loss is diverging or flat: judged over windows of its finite values.

Each loss name is its own series (a GAN's errD and errG are judged apart). A window's median
is compared with the first window's, every ``WINDOW`` losses; flatness is judged at a few
fixed iterations only, by a straight-line fit, since noise without learning looks flat at
any one point too.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable

from .snapshot import LossPoint

WINDOW = 10  # losses per window for the trend checks
FLAT_CHECKS = (3 * WINDOW, 100)  # iterations at which loss-flat is judged


class LossTrends:
    def __init__(self) -> None:
        #: Finite losses per loss name.
        self.losses: dict[str, list[float]] = {}
        #: Several optimizers step (a GAN): adversarial losses need not fall, so no loss-flat.
        self.several_optimizers = False
        self._first_median: dict[str, float] = {}
        self._flat_judged: set[int] = set()

    def judge(self, name: str, loss: float, iteration: int) -> list[tuple[str, str]]:
        """Add one finite loss; the (finding id, message) pairs it gives."""
        losses = self.losses.setdefault(name, [])
        losses.append(loss)
        n = len(losses)
        judge_flat = (
            iteration in FLAT_CHECKS and iteration not in self._flat_judged and not self.several_optimizers
        )
        if n < 2 * WINDOW or (n % WINDOW and not judge_flat):
            return []
        if name not in self._first_median:
            self._first_median[name] = statistics.median(losses[:WINDOW])
        first = self._first_median[name]
        last = statistics.median(losses[-WINDOW:])
        found = []
        # A ratio says nothing of a loss that goes below zero (a WGAN's critic estimate, a
        # Gaussian NLL): -0.0098 is not "3x" -0.0101.
        if min(losses) >= 0 and last > 3 * first and last > 3 * min(losses):
            what = f"median {name}" if name else "median loss"
            found.append(("loss-diverging", f"{what} rose from {first:.4g} to {last:.4g}"))
        if judge_flat:
            self._flat_judged.add(iteration)
            if last >= 0.8 * first and no_trend(losses):
                message = f"loss shows no trend over {n} losses (median {first:.4g} → {last:.4g})"
                found.append(("loss-flat", message))
        return found

    def rewound(self, iteration: int, batches: Iterable[LossPoint]) -> None:
        """Step back to the start of ``iteration``: the losses are the history's from before it."""
        self.losses = {}
        for point in batches:
            if math.isfinite(point.loss):
                self.losses.setdefault(point.series, []).append(point.loss)
        self._flat_judged = {i for i in self._flat_judged if i < iteration}
        self._first_median = {
            name: median
            for name, median in self._first_median.items()
            if len(self.losses.get(name, ())) >= WINDOW
        }


def no_trend(losses: list[float]) -> bool:
    """True when a straight-line fit neither falls nor rises by more than twice its
    standard error: batch-to-batch noise without any learning."""
    n = len(losses)
    mean_x = (n - 1) / 2
    mean_y = sum(losses) / n
    sxx = sum((i - mean_x) ** 2 for i in range(n))
    slope = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(losses)) / sxx
    residual = sum((v - mean_y - slope * (i - mean_x)) ** 2 for i, v in enumerate(losses)) / max(n - 2, 1)
    stderr = math.sqrt(residual / sxx)
    return abs(slope) <= 2 * stderr + 1e-12 * abs(mean_y)
