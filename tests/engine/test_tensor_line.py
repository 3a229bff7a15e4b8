"""The one tensor line: it fits any width from 20 columns up and never cuts a number."""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from loopstep.engine.summary import summarize_array
from loopstep.engine.tensor_line import fit, tensor_fields, tensor_line

NUMBER = re.compile(r"-?(?:\d+\.?\d*(?:e[+-]\d+)?|nan|inf)")


@st.composite
def arrays(draw):
    shape = tuple(draw(st.lists(st.integers(0, 7), max_size=4)))
    dtype = draw(st.sampled_from(["float32", "float64", "float16", "int64"]))
    size = int(np.prod(shape)) if shape else 1
    scale = draw(st.sampled_from([1e-9, 1e-3, 1.0, 1e3, 1e12]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    data = (rng.standard_normal(size) * scale).astype(np.float64)
    pattern = draw(st.sampled_from(["none", "nan", "inf", "mixed", "zeros"]))
    if pattern == "zeros":
        data[:] = 0
    elif size and pattern != "none":
        picks = rng.integers(0, size, max(1, size // 3))
        data[picks] = np.nan if pattern == "nan" else np.inf
        if pattern == "mixed":
            data[picks[:1]] = -np.inf
    if dtype == "int64":
        data = np.nan_to_num(data, nan=0, posinf=7, neginf=-7)
    with np.errstate(over="ignore"):
        return data.astype(dtype).reshape(shape)


def _subsequence(line: str, texts: list[str]) -> bool:
    """``line`` is some of ``texts``, whole and in order, joined by spaces (maybe then " …")."""
    line = line.removesuffix(" …").removesuffix("…")
    rest = line
    for text in texts:
        if rest == text or rest.startswith(text + " "):
            rest = rest[len(text) :].lstrip(" ")
    return rest == ""


@settings(max_examples=300, deadline=None)
@given(arrays(), st.integers(20, 200), st.booleans(), st.booleans())
def test_the_line_fits_and_cuts_no_number(array, width, with_shape, grad):
    summary = summarize_array(array)
    fields = tensor_fields(summary, shape=with_shape, grad=grad)
    line = fit(fields, width)
    assert len(line) <= width
    texts = [f.text for f in fields]
    assert _subsequence(line, texts), (line, texts)
    full = fit(fields, None)
    for number in NUMBER.findall(line):
        assert number in full
        float(number)  # a whole number, not "8.384e" or "-"


def test_what_goes_first_when_the_width_runs_out():
    summary = summarize_array(np.linspace(-1, 1, 64, dtype=np.float32).reshape(32, 2))
    wide = tensor_line(summary, 200, grad=True)
    assert wide.startswith("tensor[32,2] n=64 x∈[-1, 1] μ=") and wide.endswith(" grad")
    narrow = tensor_line(summary, 30, grad=True)
    assert narrow == "tensor[32,2] x∈[-1, 1] μ=0"


def test_the_flags_that_say_something_is_wrong_stay_longest():
    array = np.ones(100, dtype=np.float32)
    array[[3, 9]] = np.nan
    summary = summarize_array(array)
    assert tensor_line(summary, 20) == "tensor[100] 2 NaN!"
    assert "all zeros" in tensor_line(summarize_array(np.zeros((3, 4))), 24)
    assert tensor_line(summarize_array(np.zeros((3, 4))), 24).startswith("tensor[3,4]")


def test_default_dtype_and_device_are_not_named():
    assert "float32" not in tensor_line(summarize_array(np.ones(10, dtype=np.float32)))
    assert "float64" in tensor_line(summarize_array(np.ones(10)))
    assert (
        tensor_line(summarize_array(np.array([0.25, -0.5], dtype=np.float32))) == "tensor[2] n=2 [0.25, -0.5]"
    )
    assert tensor_line(None) == "None"
