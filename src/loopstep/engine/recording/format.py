"""The recording file format, version 3 (versions 1 and 2 are still read).

A recording is one append-only file::

    loopstep-recording 2\\n
    FRAME*

and each frame is one header line followed by a binary payload::

    <json> <crc32 of json, 8 hex> <crc32 of payload, 8 hex>\\n<payload: n bytes>

The JSON says what the frame is (``k``: ``start``, ``events`` or ``end``) and how long its
payload is (``n``). The payload holds raw array bytes that the JSON points into by offset,
dtype and shape; arrays are read with ``numpy.frombuffer`` over an allow-list of plain
numeric dtypes. A phase that changed every parameter (step) or every grad (backward,
zero_grad) may instead point at one packed block (``P`` or ``G``): the arrays end to end in
the order of the start frame's parameter list. Nothing in a recording is pickled and
nothing in it runs when read.

The writer appends whole frames and flushes after each iteration, so a file cut at any
byte is a valid recording up to its last whole frame. The checksums tell a cut-off tail
(expected after kill -9 or a full disk) from a damaged or foreign file (refused).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import numpy as np

from ..summary import TensorSummary, json_float
from .sink_main import frame_parts

VERSION = 3
#: Format versions this reader understands: 2 added packed blocks of parameters and grads;
#: 3 the clip and update phases, phases run inside a step, the value backward ran on, the
#: framework's frame, and a parameter list that grows as a script's models appear.
READABLE_VERSIONS = frozenset({1, 2, 3})
#: The first line of every recording names the format and its version.
MAGIC_PREFIX = b"loopstep-recording "
MAGIC = MAGIC_PREFIX + b"%d\n" % VERSION
#: A header line longer than this is damage, not data.
MAX_HEADER_BYTES = 64 * 1024 * 1024

#: Dtypes an array in a recording may have; anything else is refused as damage.
ALLOWED_DTYPES = frozenset(
    {
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "float16",
        "float32",
        "float64",
        "complex64",
        "complex128",
    }
)

#: The name a NumPy dtype is written under in a frame.
DTYPE_NAMES = {np.dtype(name): name for name in ALLOWED_DTYPES}

#: --record-tensors: what to keep of each tensor.
POLICIES = ("summary", "small", "all")
#: Under the ``small`` policy, tensors with at most this many elements keep their values.
SMALL_RECORD_NUMEL = 65_536


class RecordingError(Exception):
    """The file is not a recording this loopstep can read (the message is one line)."""


def created_stamp() -> str:
    """The start frame's ``created``: now, in UTC, to the second. It is the only thing in a
    recording that depends on when it was made (its header's checksum covers it), so it has
    one place, which a test can fix to compare two recordings of the same run byte for byte."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def header_text(header: dict | str, size: int) -> bytes:
    """A frame's JSON, with ``n``: its payload's size in bytes.

    ``header`` is a dict, or JSON text already written less its closing brace (see
    ``encode.py``).
    """
    if isinstance(header, str):
        return f'{header},"n":{size}}}'.encode()
    return json.dumps(dict(header, n=size), separators=(",", ":"), allow_nan=False).encode()


def frame_buffers(header: dict | str, parts: list, size: int) -> tuple[list, int]:
    """One frame as buffers to write in order: its header line, then the payload's parts.

    The parts are bytes-like; they are checksummed and written as they are, without being
    joined into one copy first. ``size`` is their total in bytes (PayloadBuilder counts
    it). Returns the buffers and the frame's size.
    """
    buffers = frame_parts(header_text(header, size), parts)
    return buffers, len(buffers[0]) + size


def limit_for(policy: str) -> int | None:
    """Largest tensor (in elements) recorded with its values; None: every tensor."""
    if policy == "all":
        return None
    if policy == "summary":
        return 0
    return SMALL_RECORD_NUMEL


class PayloadBuilder:
    """Collects the arrays of one frame and hands out references into its payload."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def ref(self, value: Any, layout: tuple | None = None) -> Any:
        """A JSON reference for a captured value, its bytes appended to the payload.

        ``value`` is None, a TensorSummary, ``("z", dtype, shape)`` for an all-zero array or
        ``("b", dtype, shape, bytes)``. An array whose (dtype, shape) is ``layout`` (a
        parameter's, known from the start frame) is referenced by its offset alone, which
        keeps each iteration's JSON short.
        """
        if value is None:
            return None
        if isinstance(value, TensorSummary):
            return ["s", summary_to_json(value)]
        kind, dtype, shape = value[0], value[1], value[2]
        name = DTYPE_NAMES.get(dtype)
        data = value[3] if kind == "b" else b""
        if name is None:  # a dtype the reader refuses: keep the values as float64
            name = "float64"
            if kind == "b":
                data = np.frombuffer(data, dtype=dtype).astype(np.float64).tobytes()
        if kind == "z":
            return ["z", name, list(shape)]
        offset = self.size
        self.parts.append(data)
        self.size += len(data)
        if layout is not None and layout[0] == name and layout[1] == shape:
            return offset
        return ["v", name, list(shape), offset]

    def block(self, data: Any) -> int:
        """Append a flat block of bytes (parameters or grads, packed) and return its offset."""
        offset = self.size
        self.parts.append(data)
        self.size += len(data) if type(data) is bytes else memoryview(data).nbytes
        return offset


def summary_to_json(summary: TensorSummary) -> dict:
    return {
        "shape": list(summary.shape),
        "dtype": summary.dtype,
        "norm": json_float(summary.norm),
        "mean": json_float(summary.mean),
        "std": json_float(summary.std),
        "min": json_float(summary.min),
        "max": json_float(summary.max),
        "nan": summary.nan,
        "inf": summary.inf,
        "zeros": summary.zeros,
        "device": summary.device,
    }


def _number(value: Any) -> float:
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RecordingError("a tensor summary holds something that is not a number")
    return float(value)


def _shape(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) > 32:
        raise RecordingError("a tensor shape is not a list of sizes")
    if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**40 for d in value):
        raise RecordingError("a tensor shape is not a list of sizes")
    return tuple(value)


def summary_from_json(data: Any) -> TensorSummary:
    if not isinstance(data, dict):
        raise RecordingError("a tensor summary is not an object")
    try:
        return TensorSummary(
            shape=_shape(data["shape"]),
            dtype=str(data["dtype"]),
            norm=_number(data["norm"]),
            mean=_number(data["mean"]),
            std=_number(data["std"]),
            min=_number(data["min"]),
            max=_number(data["max"]),
            nan=int(data.get("nan", 0)),
            inf=int(data.get("inf", 0)),
            zeros=bool(data.get("zeros", False)),
            device=str(data.get("device", "cpu")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordingError(f"a tensor summary is incomplete ({exc})") from None


def resolve(
    ref: Any, buffer: Any, start: int, length: int, layout: tuple | None = None
) -> np.ndarray | TensorSummary | None:
    """Turn a reference from a frame back into what was recorded.

    ``buffer`` is the whole file (bytes or mmap); the frame's payload is
    ``buffer[start:start + length]``. Arrays are read-only views, never copies. A bare
    offset is a parameter-shaped array: ``layout`` is its (dtype, shape).
    """
    if ref is None:
        return None
    if isinstance(ref, int) and not isinstance(ref, bool):
        if layout is None:
            raise RecordingError("a tensor reference names no known parameter")
        ref = ["v", layout[0], list(layout[1]), ref]
    if not isinstance(ref, list) or not ref:
        raise RecordingError("a tensor reference is malformed")
    kind = ref[0]
    if kind == "s" and len(ref) == 2:
        return summary_from_json(ref[1])
    if kind in ("z", "v") and len(ref) == (3 if kind == "z" else 4):
        dtype_name, shape = ref[1], _shape(ref[2])
        if dtype_name not in ALLOWED_DTYPES:
            raise RecordingError(f"a tensor has a dtype this reader refuses: {str(dtype_name)[:20]!r}")
        dtype = np.dtype(dtype_name)
        if kind == "z":
            return np.zeros(shape, dtype=dtype)
        offset = ref[3]
        count = math.prod(shape)
        if not isinstance(offset, int) or offset < 0 or offset + count * dtype.itemsize > length:
            raise RecordingError("a tensor points outside its frame")
        array = np.frombuffer(buffer, dtype=dtype, count=count, offset=start + offset)
        return array.reshape(shape)
    raise RecordingError("a tensor reference is malformed")
