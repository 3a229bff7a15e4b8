"""A one-row update repaints the span where the rows differ, and that span is enough."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from loopstep.ui.widgets.cell_update import _cells, changed_span

STYLES = [Style(), Style(bold=True), Style(reverse=True), Style(color="red")]
segments = st.lists(
    st.tuples(st.text(alphabet="ab ▶·界", min_size=1, max_size=6), st.sampled_from(STYLES)), max_size=6
)


def strip_of(parts) -> Strip:
    return Strip([Segment(text, style) for text, style in parts])


@given(segments, segments)
def test_repainting_the_span_turns_the_old_row_into_the_new(old_parts, new_parts):
    old, new = strip_of(old_parts), strip_of(new_parts)
    before, after = _cells(old), _cells(new)
    span = changed_span(old, new)
    if span is None:
        assert before == after
        return
    start, end = span
    repainted = before[:start] + after[start:end] + before[end:]
    assert repainted[: len(after)] == after and (end >= len(before) or len(before) == len(after))
    # Never half of a wide character at either end.
    assert all(start >= len(c) or c[start][0] is not None for c in (before, after))
    assert all(end >= len(c) or c[end][0] is not None for c in (before, after))


def test_a_word_changed_in_the_middle_is_the_span():
    old = strip_of([(" loss · ", Style()), ("▶ backward ◀", Style(reverse=True)), (" · step", Style())])
    new = strip_of([(" loss · ", Style()), ("backward", Style()), (" · ▶ step ◀", Style())])
    start, end = changed_span(old, new)
    assert start == len(" loss · ") and end == max(len(_cells(old)), len(_cells(new)))
