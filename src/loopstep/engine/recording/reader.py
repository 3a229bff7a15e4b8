"""Reading a recording: everything is checked when the file is opened, so a replay that
has started never meets a damaged record.

A file cut off mid-frame (kill -9, a dropped SSH session, a full disk) reads as the
recording up to its last whole frame, with a note that says where it stops. A damaged,
foreign or newer file raises :class:`RecordingError` with one line for the user.
"""

from __future__ import annotations

import json
import mmap
import os
import zlib
from dataclasses import dataclass, field
from typing import Any

from ..phases import Phase, PhaseEvent, SourceLocation
from .format import MAGIC_PREFIX, MAX_HEADER_BYTES, READABLE_VERSIONS, VERSION, RecordingError, resolve
from .traces import trace_from_json

_PHASES = {p.value: p for p in Phase}


@dataclass(frozen=True)
class RecordedPhase:
    event: PhaseEvent
    arrays: dict[str, Any]  # name -> ndarray | TensorSummary | None, what this phase changed
    mode: tuple[str, bool] | None = None  # (model mode, grad enabled) when it changed
    settings: tuple[bool, float | None] | None = None  # (zero_grad, lr) when they changed


@dataclass
class Recording:
    path: str
    header: dict
    initial: dict[str, Any]
    phases: list[RecordedPhase] = field(default_factory=list)
    traces: dict[int, Any] = field(default_factory=dict)  # phase index -> Trace
    end: dict | None = None
    size: int = 0
    readable: int = 0  # bytes up to the end of the last whole frame
    layouts: dict[str, tuple] = field(default_factory=dict)
    #: (index of the first phase that shows them, how many parameters): the list grows as a
    #: script's models appear, and a replay shows at each phase the ones known there.
    params_changes: list[tuple[int, int]] = field(default_factory=list)

    def params_known_at(self, index: int) -> int:
        known = 0
        for first, count in self.params_changes:
            if first <= index:
                known = count
        return known

    @property
    def cut_off(self) -> bool:
        return self.end is None

    @property
    def params(self) -> list[tuple[str, tuple[int, ...], str, bool]]:
        return [(p[0], tuple(p[1]), p[2], bool(p[3])) for p in self.header.get("params", [])]

    def stop_note(self) -> str:
        """Where the recording ends and why, in one line."""
        last = self.phases[-1].event if self.phases else None
        where = (
            f"after iteration {last.iteration} ({last.phase.value}, epoch {last.epoch})"
            if last
            else "before the first phase"
        )
        if self.end is None:
            return (
                f"the recording stops {where}: the run was cut off "
                f"({self.size - self.readable} bytes of an unfinished iteration ignored)"
            )
        reason = str(self.end.get("reason", ""))
        if reason == "finished":
            return f"the recording ends {where}: the run finished"
        if reason == "error":
            return f"the recording ends {where}: the run failed: {self.end.get('error', '')}"
        if reason == "quit":
            return f"the recording ends {where}: the run was stopped before its end"
        if reason.startswith("signal"):
            return f"the recording ends {where}: the run was stopped by {reason}"
        return f"the recording ends {where}: {reason}"


def _damaged(path: str, offset: int, what: str) -> RecordingError:
    return RecordingError(f"loopstep: {path} is damaged at byte {offset} ({what}); it cannot be replayed")


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RecordingError(f"{what} is not a count")
    return value


def _event(record: Any) -> tuple[PhaseEvent, dict]:
    if not isinstance(record, dict):
        raise RecordingError("a phase record is not an object")
    phase = _PHASES.get(record.get("p"))
    if phase is None:
        raise RecordingError("a phase record names no known phase")
    loss = record.get("l")
    if loss is not None:
        if isinstance(loss, str) and loss in ("nan", "inf", "-inf"):
            loss = float(loss)
        elif isinstance(loss, bool) or not isinstance(loss, (int, float)):
            raise RecordingError("a recorded loss is not a number")
    location = _location(record.get("at"))
    backpropagated = record.get("bp")
    if backpropagated is not None:
        if isinstance(backpropagated, str) and backpropagated in ("nan", "inf", "-inf"):
            backpropagated = float(backpropagated)
        elif isinstance(backpropagated, bool) or not isinstance(backpropagated, (int, float)):
            raise RecordingError("a recorded backward value is not a number")
    event = PhaseEvent(
        phase=phase,
        epoch=_int(record.get("e"), "an epoch"),
        batch=_int(record.get("b"), "a batch"),
        iteration=_int(record.get("i"), "an iteration"),
        skipped=bool(record.get("s", 0)),
        loss=None if loss is None else float(loss),
        location=location,
        detail=str(record.get("d", "")),
        ends_epoch=bool(record.get("ee", 0)),
        ends_iteration=None if record.get("ei") is None else bool(record["ei"]),
        inside=str(record.get("in", "")),
        backpropagated=None if backpropagated is None else float(backpropagated),
        framework=_location(record.get("fw")),
        series=str(record.get("sr", "")),
    )
    return event, record


def _location(at: Any) -> SourceLocation | None:
    if at is None:
        return None
    if not (isinstance(at, list) and len(at) == 3):
        raise RecordingError("a recorded code location is malformed")
    return SourceLocation(str(at[0]), _int(at[1], "a line number"), str(at[2]))


def _pair(value: Any, what: str) -> tuple | None:
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 2):
        raise RecordingError(f"recorded {what} are malformed")
    return (value[0], value[1])


def _arrays(refs: Any, buffer: Any, start: int, length: int, layouts: dict) -> dict[str, Any]:
    if refs is None:
        return {}
    if not isinstance(refs, dict):
        raise RecordingError("a phase's tensors are not an object")
    return {str(name): resolve(ref, buffer, start, length, layouts.get(name)) for name, ref in refs.items()}


def _packed(raw: dict, buffer: Any, start: int, length: int, recording: Recording) -> dict[str, Any]:
    """Expand a phase's packed blocks: ``P`` holds every parameter and ``G`` every grad,
    end to end in the order of the parameter list (``null``: every grad None, ``"z"``: zeros)."""
    out: dict[str, Any] = {}
    for key, suffix in (("P", ""), ("G", ".grad")):
        if key not in raw:
            continue
        value = raw[key]
        names = [name + suffix for name, _, _, _ in recording.header.get("params", [])]
        if value is None and key == "G":
            out.update(dict.fromkeys(names))
            continue
        if value == "z" and key == "G":
            out.update(
                {
                    name: resolve(["z", *_as_list(recording.layouts[name])], buffer, start, length)
                    for name in names
                }
            )
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            raise RecordingError("a packed block of tensors is malformed")
        offset = value
        for name in names:
            dtype, shape = recording.layouts[name]
            array = resolve(offset, buffer, start, length, (dtype, shape))
            out[name] = array
            offset += array.nbytes
    return out


def _as_list(layout: tuple) -> list:
    return [layout[0], list(layout[1])]


def _layouts(params: list) -> dict[str, tuple]:
    """(dtype, shape) of each parameter and its grad, from the start frame."""
    layouts: dict[str, tuple] = {}
    for name, shape, dtype, _ in params:
        layout = (str(dtype), tuple(shape))
        layouts[str(name)] = layouts[f"{name}.grad"] = layout
    return layouts


def _map(path: str) -> Any:
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                return b""
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except FileNotFoundError:
        raise RecordingError(f"loopstep: no such recording: {path}") from None
    except IsADirectoryError:
        raise RecordingError(f"loopstep: {path} is a directory, not a recording") from None
    except PermissionError:
        raise RecordingError(f"loopstep: cannot read {path}: permission denied") from None
    except OSError as exc:
        raise RecordingError(f"loopstep: cannot read {path}: {exc.strerror or exc}") from None


def _check_magic(path: str, buffer: Any) -> int:
    size = len(buffer)
    first = bytes(buffer[: min(size, 64)])
    newline = first.find(b"\n")
    if newline < 0:
        if (MAGIC_PREFIX + b"%d\n" % VERSION).startswith(first):
            raise RecordingError(
                f"loopstep: {path} is empty: the run was cut off before it recorded anything"
            )
        raise RecordingError(f"loopstep: {path} is not a loopstep recording")
    line = first[:newline]
    if not line.startswith(MAGIC_PREFIX):
        raise RecordingError(f"loopstep: {path} is not a loopstep recording")
    version = line[len(MAGIC_PREFIX) :]
    if not version.isdigit():
        raise RecordingError(f"loopstep: {path} is not a loopstep recording")
    if int(version) > VERSION:
        raise RecordingError(
            f"loopstep: {path} was written by a newer loopstep (format {int(version)}; this one reads "
            f"{VERSION}): upgrade loopstep to replay it"
        )
    if int(version) not in READABLE_VERSIONS:
        raise RecordingError(f"loopstep: {path} has an unknown format version {int(version)}")
    return newline + 1


def read_recording(path: str) -> Recording:
    """Open and check a whole recording. Raises RecordingError (one line) if it is unusable."""
    path = os.fspath(path)
    buffer = _map(path)
    pos = _check_magic(path, buffer)
    size = len(buffer)
    recording: Recording | None = None
    while pos < size:
        frame_at = pos
        newline = buffer.find(b"\n", pos, min(size, pos + MAX_HEADER_BYTES))
        if newline < 0:
            if size - pos >= MAX_HEADER_BYTES:
                raise _damaged(path, pos, "a frame header has no end")
            break  # cut off inside a header line
        parts = bytes(buffer[pos:newline]).rsplit(b" ", 2)
        try:
            if len(parts) != 3 or len(parts[1]) != 8 or len(parts[2]) != 8:
                raise ValueError
            head_crc, body_crc = int(parts[1], 16), int(parts[2], 16)
        except ValueError:
            raise _damaged(path, pos, "a frame header is malformed") from None
        if zlib.crc32(parts[0]) != head_crc:
            raise _damaged(path, pos, "a frame header fails its checksum")
        try:
            header = json.loads(parts[0])
        except (ValueError, RecursionError):
            raise _damaged(path, pos, "a frame header is not JSON") from None
        if not isinstance(header, dict):
            raise _damaged(path, pos, "a frame header is not an object")
        try:
            length = _int(header.get("n"), "a payload length")
        except RecordingError as exc:
            raise _damaged(path, pos, str(exc)) from None
        start = newline + 1
        if start + length > size:
            break  # cut off inside a payload
        if zlib.crc32(buffer[start : start + length]) != body_crc:
            raise _damaged(path, pos, "a frame's data fails its checksum")
        pos = start + length
        try:
            recording = _take_frame(path, recording, header, buffer, start, length)
        except RecordingError as exc:
            message = str(exc)
            if message.startswith("loopstep:"):
                raise
            raise _damaged(path, frame_at, message) from None
        except (TypeError, ValueError, KeyError, IndexError, OverflowError, RecursionError) as exc:
            raise _damaged(path, frame_at, f"{type(exc).__name__}") from None
        recording.readable = pos
        if recording.end is not None:
            break
    if recording is None:
        raise RecordingError(f"loopstep: {path} is empty: the run was cut off before it recorded anything")
    recording.size = size
    return recording


def _take_frame(
    path: str, recording: Recording | None, header: dict, buffer: Any, start: int, length: int
) -> Recording:
    kind = header.get("k")
    if recording is None:
        if kind != "start":
            raise RecordingError("the first frame is not a start frame")
        _check_params(header.get("params", []))
        _pair(header.get("settings"), "settings")
        layouts = _layouts(header.get("params", []))
        recording = Recording(path, header, _arrays(header.get("a"), buffer, start, length, layouts))
        recording.layouts = layouts
        recording.params_changes.append((0, len(header.get("params") or [])))
        return recording
    if kind == "params":  # a script's models, as they appear after the start (more each time)
        added = header.get("params", [])
        _check_params(added)
        known = {entry[0] for entry in recording.header.get("params") or []}
        if any(entry[0] in known for entry in added):
            raise RecordingError("a parameter listed twice")
        params = list(recording.header.get("params") or []) + added
        recording.header["params"] = params
        recording.layouts = _layouts(params)
        recording.initial.update(_arrays(header.get("a"), buffer, start, length, recording.layouts))
        recording.params_changes.append((len(recording.phases), len(params)))
        return recording
    if kind == "events":
        if header.get("first") != len(recording.phases):
            raise RecordingError("a frame of phases is out of order")
        records = header.get("ev", [])
        if not isinstance(records, list):
            raise RecordingError("a frame's phases are not a list")
        base = len(recording.phases)
        for record in records:
            event, raw = _event(record)
            mode = _pair(raw.get("m"), "model modes")
            settings = _pair(raw.get("z"), "settings")
            arrays = _arrays(raw.get("a"), buffer, start, length, recording.layouts)
            if "P" in raw or "G" in raw:
                arrays.update(_packed(raw, buffer, start, length, recording))
            recording.phases.append(
                RecordedPhase(
                    event,
                    arrays,
                    (str(mode[0]), bool(mode[1])) if mode else None,
                    (bool(settings[0]), _lr(settings[1])) if settings else None,
                )
            )
        for entry in header.get("tr", []):
            if not (isinstance(entry, list) and len(entry) == 2):
                raise RecordingError("a recorded trace is malformed")
            index = _int(entry[0], "a trace's phase")
            if index >= base + len(records):
                raise RecordingError("a recorded trace points at a missing phase")
            recording.traces[index] = trace_from_json(entry[1])
        return recording
    if kind == "end":
        recording.end = {"reason": str(header.get("reason", "")), "error": str(header.get("error", ""))}
        return recording
    raise RecordingError(f"a frame of unknown kind {str(kind)[:20]!r}")


def _check_params(params: Any) -> None:
    if not isinstance(params, list):
        raise RecordingError("the parameter list is malformed")
    for entry in params:
        if not (isinstance(entry, list) and len(entry) == 4 and isinstance(entry[1], list)):
            raise RecordingError("the parameter list is malformed")


def _lr(value: Any) -> float | None:
    if value is None:
        return None
    if value in ("nan", "inf", "-inf"):
        return float(value)  # JSON has no NaN/Inf: written as strings
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RecordingError("a recorded learning rate is not a number")
    return float(value)
