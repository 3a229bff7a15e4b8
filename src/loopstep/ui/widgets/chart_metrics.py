"""What the chart draws for each metric over time (``g`` goes through them): the series for
plotext's frame, built from the engine's metrics (:mod:`loopstep.engine.metrics`).

Nothing here imports Textual or plotext: it turns points into :class:`.chart_data.Series`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from ...engine.metrics import (
    GRAD_NORM,
    LR,
    PARAM_GRAD_NORM,
    THIN,
    UPDATE_RATIO,
    WATCH,
    MetricPoint,
    top_parameters,
)
from .chart_data import Series

LOSS = "loss"
#: The charts in the order ``g`` shows them.
CHARTS = (LOSS, "grad norm", "layer grad norms", "update/weight", "learning rate", "watches")
#: How many parameters "layer grad norms" draws: those with the largest last norm.
TOP_LAYERS = 5
#: The rule of thumb for the update-to-weight ratio (Karpathy's): near 1e-3 per step;
#: far below, the layer barely learns; far above, it may be thrashing.
UPDATE_RULE = 1e-3
NOTHING = {
    "grad norm": "no gradient norm yet: step past an optimizer step",
    "layer grad norms": "no gradient norm yet: step past an optimizer step",
    "update/weight": "no update ratio yet: it is measured from the next optimizer step on",
    "learning rate": "no learning rate yet: step past an optimizer step",
    "watches": "no watch gave a number yet: w adds one (e.g. loss.item(), w_grad)",
}


def _series(label: str, points: Sequence[MetricPoint], *, raw: bool = False) -> Series:
    return Series(
        label, tuple(p.iteration for p in points), tuple(p.value for p in points), gap=THIN, raw=raw
    )


def metric_series(chart: str, metrics: Mapping[str, Sequence[MetricPoint]]) -> dict[str, Series]:
    """The named series of ``chart`` (any but the loss), from the metrics measured so far."""
    out: dict[str, Series] = {}
    if chart == "grad norm":
        if metrics.get(GRAD_NORM):
            out[GRAD_NORM] = _series("‖grad‖ (all parameters)", metrics[GRAD_NORM])
        for name, points in metrics.items():  # a run with several optimizers: one each
            if name.startswith(GRAD_NORM + ":") and points:
                out[name] = _series(f"‖grad‖ {name[len(GRAD_NORM) + 1 :]}", points)
    elif chart == "layer grad norms":
        for name in top_parameters(metrics, TOP_LAYERS):
            out[name] = _series(name, metrics[PARAM_GRAD_NORM.format(name)])
    elif chart == "update/weight" and metrics.get(UPDATE_RATIO):
        points = metrics[UPDATE_RATIO]
        out[UPDATE_RATIO] = _series("‖Δθ‖/‖θ‖", points)
        # A level line, one mark at each iteration measured (plotext marks points, it does
        # not join two far apart).
        xs = tuple(p.iteration for p in points)
        out["rule"] = Series("1e-3 rule of thumb", xs, (UPDATE_RULE,) * len(xs), gap=THIN, raw=True)
    elif chart == "learning rate" and metrics.get(LR):
        out[LR] = _series("lr", metrics[LR], raw=True)
    elif chart == "watches":  # seen at pauses only: each point marked, as a validation pass's
        for name, points in metrics.items():
            if name.startswith(WATCH) and points:
                out[name] = replace(_series(name[len(WATCH) :], points, raw=True), markers=True)
    return out


def metrics_key(metrics: Mapping[str, Sequence[MetricPoint]]) -> tuple:
    """Changes whenever a point is added or replaced (cheap: lengths and last points)."""
    return tuple((name, len(points), points[-1] if points else None) for name, points in metrics.items())
