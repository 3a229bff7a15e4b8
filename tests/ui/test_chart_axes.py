"""The chart's tick chooser, its smoothing and its marks, against what TensorBoard does."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopstep.ui.widgets.chart_axes import linear_axis, log_axis, nice_step, nice_ticks
from loopstep.ui.widgets.chart_data import RAW_MARK, SMOOTH_FROM, Series, prepare
from loopstep.ui.widgets.chart_smoothing import WEIGHTS, next_weight, smoothed


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (0.01388, 8.083, (0.0, 2.0, 4.0, 6.0, 8.0, 10.0)),  # the odd labels a new user saw
        (0.0, 1.0, (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)),
        (0.1, 0.3, (0.1, 0.15, 0.2, 0.25, 0.3)),  # exact decimals, not 0.30000000000000004
        (-3.0, 2.0, (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0)),
        (990.0, 1010.0, (990.0, 995.0, 1000.0, 1005.0, 1010.0)),
    ],
)
def test_ticks_are_1_2_5_steps_from_at_or_below_the_lowest_to_at_or_above_the_highest(low, high, ticks):
    assert nice_ticks(low, high, 5) == ticks


@settings(max_examples=300, deadline=None)
@given(
    low=st.floats(-1e12, 1e12, allow_nan=False),
    span=st.floats(1e-6, 1e12, allow_nan=False),
    count=st.integers(2, 8),
)
def test_any_range_gets_a_round_step_and_covers_the_data(low, span, count):
    high = low + span
    if not high > low:
        return
    ticks = nice_ticks(low, high, count)
    slack = max(abs(low), abs(high)) * 1e-12  # rounding's last bits (the axis itself holds the data)
    assert ticks[0] <= low + slack and ticks[-1] >= high - slack
    mantissa, exponent = nice_step(high - low, count)
    assert mantissa in (1, 2, 5)
    step = mantissa * 10.0**exponent
    for a, b in zip(ticks, ticks[1:]):  # a float far from 0 holds a tick only to its last bits
        assert math.isclose(b - a, step, rel_tol=1e-9, abs_tol=8 * math.ulp(max(abs(a), abs(b))))
    assert len(ticks) <= 2 * count + 1  # about as many as asked for, never a crowd


def test_a_log_axis_spanning_decades_is_ticked_at_decades():
    axis = log_axis(math.log10(0.01388), math.log10(8.083), 5)
    assert axis.labels == ("0.01", "0.1", "1", "10")
    assert axis.limits == (-2.0, 1.0)


def test_a_log_axis_within_a_decade_is_ticked_at_round_losses():
    axis = log_axis(math.log10(2.1), math.log10(3.5), 5)
    assert axis.labels == ("2", "2.5", "3", "3.5")
    assert axis.limits[0] <= math.log10(2.1) and axis.limits[1] >= math.log10(3.5)


def test_a_flat_curve_gets_its_value_as_the_one_tick_and_room_around_it():
    axis = linear_axis(0.25, 0.25, 5)
    assert axis.ticks == (0.25,) and axis.labels == ("0.25",)
    assert axis.limits[0] < 0.25 < axis.limits[1]


def tensorboard_smoothing(values: list[float], weight: float) -> list[float]:
    """TensorBoard's smoothing, transcribed from its line chart (tf-smoothing.ts)."""
    last = 0.0 if values else math.nan
    num_accum = 0
    is_constant = all(v == values[0] for v in values)
    out = []
    for next_val in values:
        if is_constant or not math.isfinite(next_val):
            out.append(next_val)
        else:
            last = last * weight + (1 - weight) * next_val
            num_accum += 1
            debias_weight = 1 - weight**num_accum if weight != 1 else 1
            out.append(last / debias_weight)
    return out


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(math.nan), st.just(math.inf)), max_size=40),
    weight=st.sampled_from([0.0, 0.3, 0.6, 0.9, 0.99]),
)
def test_smoothing_is_tensorboards_debiased_ema(values, weight):
    ours = smoothed(values, weight)
    theirs = tensorboard_smoothing(values, weight) if weight else values
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def test_the_first_smoothed_point_is_the_first_value_not_pulled_towards_zero():
    assert smoothed([10.0, 0.0], 0.6)[0] == pytest.approx(10.0)
    assert smoothed([10.0, 0.0], 0.6)[1] == pytest.approx((0.6 * 0.4 * 10.0) / (1 - 0.36))


def test_m_goes_through_the_weights_and_back():
    seen = [0.6]
    for _ in WEIGHTS:
        seen.append(next_weight(seen[-1]))
    assert seen == [0.6, 0.9, 0.99, 0.0, 0.6]


def test_every_curve_has_a_mark_of_its_own_and_the_legend_names_each_one():
    """Without colour (NO_COLOR) the marks are all that tells the curves apart."""
    xs = tuple(range(SMOOTH_FROM))
    frame = prepare(
        [
            Series("rank 0", xs, tuple(4.0 / (1 + x) for x in xs)),
            Series("rank 1", xs, tuple(5.0 / (1 + x) for x in xs)),
            Series("val", (3,), (2.2,), markers=True),
        ],
        log=False,
        smoothing=0.6,
    )
    shown = [c for c in frame.curves if not c.faint]
    assert len({c.mark for c in shown}) == len(shown) == 3
    assert all(c.mark == RAW_MARK for c in frame.curves if c.faint)
    assert [c.label for c in frame.curves if c.faint] == ["rank 0", "rank 1"]  # raw, behind
    assert frame.legend == "⠤⠤ rank 0  •• rank 1  oo val  ·· raw (EMA 0.6: m)"
    # the first iterations, each one stepped through, are drawn as they are
    short = prepare([Series("train", xs[:-1], (3.0, 1.0) * (len(xs) // 2))], log=False, smoothing=0.6)
    assert [c.faint for c in short.curves] == [False] and "raw" not in short.legend
