"""What the loss chart hands plotext, for any floats a run can produce: plotext never raises
on it, draws the same picture each time Textual renders it, and every loss left out is counted.

The widget's own tests (test_loss_chart) render it in an app; these go straight to
``chart_data`` and a bare plotext figure, so hypothesis can try thousands of series.
"""

from __future__ import annotations

import math
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from textual_plotext.plot import Plot

from loopstep.ui.widgets.chart_data import HUGE, SMOOTH_FROM, Series, draw, prepare

NAN, INF = math.nan, math.inf

SPECIAL = st.sampled_from(
    [0.0, -0.0, NAN, INF, -INF, 5e-324, -5e-324, sys.float_info.max, -sys.float_info.max, 1e-300, 1e300]
)
LOSSES = st.lists(st.one_of(st.floats(), SPECIAL), max_size=40)


@settings(max_examples=400, deadline=None)
@given(
    train=LOSSES,
    val=st.lists(st.one_of(st.floats(), SPECIAL), max_size=4),
    original=LOSSES,
    log=st.booleans(),
    width=st.integers(0, 100),
    height=st.integers(0, 40),
    smoothing=st.sampled_from([0.0, 0.6, 0.99]),
)
def test_any_losses_on_either_scale_build_and_are_accounted_for(
    train, val, original, log, width, height, smoothing
):
    series = [
        Series("train", tuple(range(len(train))), tuple(train)),
        Series("val (epoch end)", tuple(range(0, 4 * len(val), 4)), tuple(val), markers=True),
        Series("before step back", tuple(range(len(original))), tuple(original)),
    ]
    frame = prepare(series, log=log, smoothing=smoothing)
    losses = train + val + original
    finite = [y for y in losses if math.isfinite(y)]
    drawable = [y for y in finite if y > 0 or not log]
    assert frame.not_finite == len(losses) - len(finite)
    assert frame.not_positive == len(finite) - len(drawable)
    assert sum(len(c.ys) for c in frame.curves if not c.faint) == len(drawable)
    assert all(len(c.ys) >= SMOOTH_FROM for c in frame.curves if c.faint)  # raw behind a smoothed line
    assert frame.drawable == bool(drawable)
    if frame.note and len(drawable) == len(losses):  # all drawn: only the log scale is suggested
        assert not log and frame.note.endswith("decades: l for log scale")
        assert max(drawable) / min(y for y in drawable if y > 0) > 100
    else:
        assert (frame.note == "") == (len(drawable) == len(losses))
    if frame.not_finite:
        assert f"{frame.not_finite} nan/inf point" in frame.note
    if frame.not_positive:
        assert frame.note.startswith(f"log scale: {frame.not_positive} point")
    if not drawable:
        return
    low, high = frame.ylim
    plotted = [y for c in frame.curves for y in c.ys]
    assert math.isfinite(high - low) and low < high
    bound = 400 if log else HUGE  # log10 of a float, or brought within HUGE
    assert all(low <= y <= high and abs(y) <= bound for y in plotted)
    assert all(low <= t <= high for t in frame.yticks) and len(frame.ylabels) == len(frame.yticks)
    assert len(set(frame.ylabels)) == len(frame.ylabels)  # no two ticks labelled alike
    plt = Plot()
    plt.theme("clear")
    draw(plt, frame)
    plt.plotsize(width, height)  # what PlotextPlot.render does before building
    plt._set_size(width, height)
    picture = plt.build()
    assert plt.build() == picture  # Textual renders again on any repaint: the same picture


def test_numpy_losses_are_sorted_out_like_floats():
    """A backend may hand float32 losses: ``(0.0).__lt__`` answers NotImplemented (truthy) for
    them, which would have kept a negative loss on the log scale."""
    np = pytest.importorskip("numpy")
    ys = tuple(np.float32(y) for y in (-1.0, 0.0, 2.0, NAN, 8.0))
    frame = prepare([Series("train", tuple(range(5)), ys)], log=True)
    assert (frame.not_positive, frame.not_finite) == (2, 1)
    assert frame.ylabels[0] == "2" and frame.ylabels[-1] == "8"
    assert frame.note == "log scale: 2 points ≤ 0, 1 nan/inf point not shown"


def test_a_line_is_not_drawn_across_iterations_the_chart_never_saw():
    from loopstep.ui.widgets.chart_data import segments

    xs = (0.0, 1.0, 2.0, 5070.0, 5071.0, 5071.5)
    ys = (6.0, 5.0, 4.0, 0.1, 0.09, 0.08)
    assert segments(xs, ys) == [
        ([0.0, 1.0, 2.0], [6.0, 5.0, 4.0]),
        ([5070.0, 5071.0, 5071.5], [0.1, 0.09, 0.08]),
    ]
    assert segments((), ()) == []
    assert segments((3.0,), (1.0,)) == [([3.0], [1.0])]


def test_a_long_line_is_thinned_to_what_the_plot_shows_its_spikes_and_ends_kept():
    from loopstep.ui.widgets.chart_data import thinned

    xs = list(range(2000))
    ys = [math.sin(x / 50) for x in xs]
    ys[777], ys[1500] = 50.0, -40.0  # one iteration each: a spike no thinning may hide
    out_x, out_y = thinned(xs, ys, 90)
    assert len(out_x) <= 4 * 90 and out_x == sorted(out_x)
    assert (out_x[0], out_x[-1]) == (0, 1999)
    assert (777, 50.0) in zip(out_x, out_y) and (1500, -40.0) in zip(out_x, out_y)
    assert all(ys[x] == y for x, y in zip(out_x, out_y))  # only points of the run, none made up
    assert thinned(xs[:100], ys[:100], 90) == (xs[:100], ys[:100])  # few enough: all of them
