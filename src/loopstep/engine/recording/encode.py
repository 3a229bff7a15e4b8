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
from .format import DTYPE_NAMES

_PHASE_HEAD = {phase: f'{{"p":"{phase.value}"' for phase in Phase}
_ZERO_GRAD = Phase.ZERO_GRAD  # an enum member read from the class costs a lookup each time
_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def json_text(value: Any) -> str:
    """Compact JSON for the rare parts; NaN and infinity are refused, as in any frame."""
    return _dumps(value)


class EventText:
    """Turns phase events into their JSON records, remembering the code locations it wrote."""

    def __init__(self) -> None:
        self._locations: dict[Any, str] = {}
        self._loss: Any = None
        self._counters: tuple = ()
        self._counters_text = ""
        self._loss_text = ""

    def record(self, event: PhaseEvent, mode: tuple | None, settings: tuple | None, extra: str) -> str:
        """One phase's record; ``extra`` is its tensors' text (``,"a":{...}``, ``,"G":12``...)."""
        counters = (event.epoch, event.batch, event.iteration)
        if counters != self._counters:  # the phases of one iteration share them: written once
            self._counters = counters
            self._counters_text = f',"e":{event.epoch:d},"b":{event.batch:d},"i":{event.iteration:d}'
        text = _PHASE_HEAD[event.phase] + self._counters_text
        if event.skipped:
            text += ',"s":1'
        loss = event.loss
        if loss is not None:
            # The phases of an iteration after the loss carry the same number: written once.
            if loss is not self._loss:
                value = float(loss)
                self._loss = loss
                self._loss_text = ',"l":' + (repr(value) if math.isfinite(value) else f'"{value}"')
            text += self._loss_text
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
        if event.inside:
            text += ',"in":' + _dumps(event.inside)
        if event.backpropagated is not None:
            value = float(event.backpropagated)
            text += ',"bp":' + (repr(value) if math.isfinite(value) else f'"{value}"')
        if event.framework is not None:
            where = event.framework
            text += ',"fw":' + _dumps([where.path, where.line, where.function])
        if event.series:
            text += ',"sr":' + _dumps(event.series)
        if event.ends_epoch:
            text += ',"ee":1'
        if event.ends_iteration != (event.phase is _ZERO_GRAD):
            text += ',"ei":true' if event.ends_iteration else ',"ei":false'
        if mode is not None:
            text += ',"m":' + _dumps([mode[0], bool(mode[1])])
        if settings is not None:
            lr = settings[1]
            lr = lr if lr is None or math.isfinite(lr) else str(float(lr))  # an lr set to inf, as "inf"
            text += ',"z":' + _dumps([bool(settings[0]), lr])
        return text + extra + "}"


class RefText:
    """The ``"a"`` object of a phase (named tensors), as text, for captured values.

    Each array costs its offset and a prefix kept per name for its last (dtype, shape);
    anything else (a summary, zeros, a dtype stored as float64) goes through
    ``PayloadBuilder.ref``.
    """

    def __init__(self, layouts: dict[str, tuple]) -> None:
        self._layouts = layouts
        #: name -> (dtype, shape, text before the offset, text after it); the text before is
        #: None for a dtype that PayloadBuilder.ref converts.
        self._cache: dict[str, tuple] = {}

    def text(self, captured: dict[str, Any], payload: Any) -> str:
        items = []
        cache = self._cache
        for name, value in captured.items():
            if type(value) is tuple and value[0] == "b":
                dtype, shape = value[1], value[2]
                known = cache.get(name)
                if known is None or known[0] is not dtype or known[1] != shape:
                    known = cache[name] = (dtype, shape, *self._around(name, dtype, shape))
                if known[2] is not None:
                    items.append(f"{known[2]}{payload.block(value[3])}{known[3]}")
                    continue
            items.append(_dumps(name) + ":" + _dumps(payload.ref(value, self._layouts.get(name))))
        return ',"a":{' + ",".join(items) + "}"

    def _around(self, name: str, dtype: Any, shape: tuple) -> tuple[str | None, str]:
        """The text before and after an array's offset: its name, and unless the array has its
        parameter's layout (an offset alone), ``["v",dtype,shape,`` ... ``]``."""
        dtype_name = DTYPE_NAMES.get(dtype)
        if dtype_name is None:
            return None, ""  # converted to float64 by PayloadBuilder.ref
        head = _dumps(name) + ":"
        if self._layouts.get(name) == (dtype_name, tuple(shape)):
            return head, ""
        return head + _dumps(["v", dtype_name, list(shape)])[:-1] + ",", "]"


#: A packed block that holds no bytes: every grad None (``null``) or every grad zero (``"z"``).
_NO_BYTES = {
    (key, kind): f',"{key}":{text}' for key in "PG" for kind, text in (("none", "null"), ("z", '"z"'))
}


def packed_text(key: str, value: Any, payload: Any) -> str:
    """A packed block's reference (``P`` or ``G``): its offset once appended to ``payload``,
    or, for ``"none"`` and ``"z"``, the marker that holds no bytes."""
    if type(value) is str:
        return _NO_BYTES[key, value]
    return f',"{key}":{payload.block(value)}'
