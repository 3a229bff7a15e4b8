"""The compacted terminal output shows the same cells in the same styles, in fewer bytes."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from loopstep.ui.compact_output import compact, compact_driver

SGR = re.compile(r"\x1b\[([0-9;]*)m")


def cells(data: str) -> list[tuple[str, str]]:
    """What a terminal shows: each character with the SGR parameters in force for it (all
    those set since the last reset, in order)."""
    shown: list[tuple[str, str]] = []
    active: list[str] = []
    at = 0
    for found in SGR.finditer(data):
        shown += [(ch, ";".join(active)) for ch in data[at : found.start()]]
        params = found.group(1)
        if params in ("", "0"):
            active = []
        else:
            active.append(params)
        at = found.end()
    shown += [(ch, ";".join(active)) for ch in data[at:]]
    return shown


STYLES = [
    Style(),
    Style(bold=True),
    Style(color="#e0e0e0", bgcolor="#121212"),
    Style(color="#a0a3a6", bgcolor="#121212"),
    Style(bold=True, reverse=True),
]
SEGMENTS = st.lists(
    st.tuples(st.text(alphabet="ab │·", min_size=1, max_size=4), st.sampled_from(range(len(STYLES)))),
    max_size=30,
)


def rendered(segments: list[tuple[str, int]]) -> str:
    """A line as Textual writes it: every segment under its own style and a reset."""
    from rich.console import Console

    strip = Strip([Segment(text, STYLES[i]) for text, i in segments])
    return strip.render(Console(color_system="truecolor"))


@given(lines=st.lists(SEGMENTS, min_size=1, max_size=4))
def test_the_screen_is_the_same(lines):
    data = "".join(f"\x1b[{row + 1};1H" + rendered(line) for row, line in enumerate(lines))
    assert cells(compact(data)) == cells(data)
    assert len(compact(data)) <= len(data)


def test_a_run_of_one_style_is_written_once():
    grey = 2
    data = rendered([("w", grey), ("   ", grey), (" ", grey), ("-2.003", 1), ("  ", grey), ("x", grey)])
    out = compact(data)
    assert cells(out) == cells(data)
    assert out.count("\x1b[38;2;224;224;224;48;2;18;18;18m") == 2  # before and after the bold run
    assert len(out) < len(data) * 0.6


def test_the_driver_writes_compacted_output():
    written = []

    class Recording:
        def write(self, data: str) -> None:
            written.append(data)

    driver = compact_driver(Recording)  # type: ignore[arg-type]
    assert compact_driver(driver) is driver  # wrapped once, however often asked
    data = rendered([("ab", 2), ("ab", 2)])
    driver().write(data)
    assert written == [compact(data)] and len(written[0]) < len(data)
