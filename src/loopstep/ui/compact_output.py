"""Fewer bytes per repaint: runs of text in one style are written under one escape sequence.

Textual writes every segment of a line as ``ESC[<style>m text ESC[0m``, so a line whose
cells share a style (a table's padding, a phase bar, a syntax-highlighted ``((``) repeats
the same truecolor sequence, ~35 bytes, many times over. Over SSH each repaint is paid in
bytes and latency; a step of the app wrote ~9 KB, a third of it such repeats.

A reset immediately followed by the style that was in force before it changes nothing on
the screen: :func:`compact` drops that pair. The output of a driver made with
:func:`compact_driver` shows the same cells with the same attributes.
"""

from __future__ import annotations

import re

from textual.driver import Driver

#: A style, the text under it, then a reset and the same style again at once.
_REPEATED_STYLE = re.compile(r"(\x1b\[([0-9;]*)m[^\x1b]*)\x1b\[0m\x1b\[\2m")


def compact(data: str) -> str:
    """``data`` with every ``ESC[0m`` that is followed by the style it ended left out, together
    with that style: the terminal shows the same thing.

    Each pass merges every second pair of a run of segments in one style, so a run of n
    takes about log2(n) passes; each is one regular-expression scan in C.
    """
    if "\x1b[0m\x1b[" not in data:
        return data
    while True:
        shorter = _REPEATED_STYLE.sub(r"\1", data)
        if len(shorter) == len(data):
            return data
        data = shorter


def compact_driver(driver_class: type[Driver]) -> type[Driver]:
    """``driver_class`` writing compacted output (the app's terminal, a pseudo-terminal of an
    attached app, or the browser's terminal of ``loopstep serve``)."""
    if getattr(driver_class, "_compacts_output", False):
        return driver_class

    class CompactDriver(driver_class):  # type: ignore[valid-type, misc]
        _compacts_output = True

        def write(self, data: str) -> None:
            super().write(compact(data))

    CompactDriver.__name__ = CompactDriver.__qualname__ = f"Compact{driver_class.__name__}"
    return CompactDriver
