"""The JSON text of a frame of phases, written by hand.

A frame of phases is written at every iteration end, on the training thread. Building a
dict per phase and handing it to ``json.dumps`` costs more there than the training step
of a small model, so the common parts (phase, counters, loss, packed blocks) are written
with string formatting and the rare ones (a code location, a detail, a change of mode or
settings, named tensors) with ``json.dumps``. The text is plain JSON: the reader parses it
with ``json.loads`` like any other frame, and a test checks it against the reader.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..phases import Phase, PhaseEvent

_PHASE_HEAD = {phase: f'{{"p":"{phase.value}"' for phase in Phase}
_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def json_text(value: Any) -> str:
    """Compact JSON for the rare parts; NaN and infinity are refused, as in any frame."""
    return _dumps(value)


class EventText:
    """Turns phase events into their JSON records, remembering the code locations it wrote."""

    def __init__(self) -> None:
        self._locations: dict[Any, str] = {}

    def record(self, event: PhaseEvent, mode: tuple | None, settings: tuple | None, extra: str) -> str:
        """One phase's record; ``extra`` is its tensors' text (``,"a":{...}``, ``,"G":12``...)."""
        text = f'{_PHASE_HEAD[event.phase]},"e":{event.epoch:d},"b":{event.batch:d},"i":{event.iteration:d}'
        if event.skipped:
            text += ',"s":1'
        if event.loss is not None:
            loss = float(event.loss)
            text += ',"l":' + (repr(loss) if math.isfinite(loss) else f'"{loss}"')
        location = event.location
        if location is not None:
            at = self._locations.get(location)
            if at is None:
                at = self._locations[location] = ',"at":' + _dumps(
                    [location.path, location.line, location.function]
                )
            text += at
        if event.detail:
            text += ',"d":' + _dumps(event.detail)
        if event.ends_epoch:
            text += ',"ee":1'
        if event.ends_iteration != (event.phase is Phase.ZERO_GRAD):
            text += ',"ei":true' if event.ends_iteration else ',"ei":false'
        if mode is not None:
            text += ',"m":' + _dumps([mode[0], bool(mode[1])])
        if settings is not None:
            text += ',"z":' + _dumps([bool(settings[0]), settings[1]])
        return text + extra + "}"


def packed_text(key: str, value: Any) -> str:
    """A packed block's reference: its offset, ``null`` (every grad None) or ``"z"`` (zeros)."""
    if value is None:
        return f',"{key}":null'
    if value == "z":
        return f',"{key}":"z"'
    return f',"{key}":{value:d}'
