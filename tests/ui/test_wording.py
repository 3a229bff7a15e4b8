"""What the screen says reads right: nouns agree with their counts, a column writes its
numbers one way, the status line keeps its fields apart and in view at 80 columns."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopstep.engine.phases import Phase, PhaseEvent
from loopstep.engine.summary import count, number_format, summarize_array
from loopstep.ui.view import RunView, View
from loopstep.ui.widgets.status_line import render_status
from loopstep.ui.widgets.tensor_text import column_format, one_line


def test_counts_agree_with_their_nouns():
    assert count(1, "pass") == "1 pass" and count(3, "pass") == "3 passes"
    assert count(1, "op") == "1 op" and count(2, "op") == "2 ops"
    assert count(1, "backward pass", "backward passes") == "1 backward pass"
    assert count(0, "finding") == "0 findings"


def test_a_column_writes_all_its_numbers_one_way():
    small, plain = summarize_array(np.array([-8.842e-4])), summarize_array(np.array([0.02453]))
    number = column_format([small, plain])
    cells = [str(one_line(small, number=number)), str(one_line(plain, number=number))]
    assert cells == ["-8.842e-04", "2.453e-02"]
    assert number_format([0.5, 123.0])(0.5) == "0.5"  # no number needs more: plain digits


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=8))
def test_a_column_is_all_scientific_or_all_plain(values):
    number = number_format(values)
    texts = [number(v) for v in values if v != 0]
    kinds = {("e" in t) for t in texts}
    assert len(kinds) <= 1, texts


def event(phase: Phase) -> PhaseEvent:
    return PhaseEvent(phase, epoch=12, batch=345, iteration=6789)


@pytest.mark.parametrize("width", [80, 100, 120, 200])
@pytest.mark.parametrize("title", ["linreg (numpy)", "train_a_very_long_script_name_for_gpt2_finetuning.py"])
def test_the_status_line_keeps_state_position_and_settings_in_view(width, title):
    from loopstep.engine.diagnostics import Finding

    findings = (Finding("nonfinite", "error", 3, "", "m", "w", "f"),)
    view = View(title=title, state=RunView.PAUSED, zero_grad=False, findings=findings)
    text = render_status(view, event(Phase.ZERO_GRAD), "eval", "no_grad", width).plain
    assert len(text) <= width, text
    assert "paused" in text and "zero_grad: OFF" in text and "eval" in text and "no_grad" in text
    assert re.search(r"(epoch 12 · batch 345 · iter 6789|e12 b345 i6789)", text)
    assert "⚠" in text and "1 error" in text
    # the phase and the setting are never written side by side: "zero_grad  zero_grad ON"
    assert "zero_grad zero_grad" not in text.replace("  ", " ")
