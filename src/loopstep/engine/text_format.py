"""The text and JSONL stream of phases, for ``loopstep trace`` and ``loopstep run --no-tui``."""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, TextIO

from .snapshot import Snapshot
from .summary import fmt

if TYPE_CHECKING:
    from .watches import WatchValue

#: Up to this many scalar-ish parameters are printed by name on each line.
INLINE_PARAMS = 4


def text_header() -> str:
    return f"{'epoch':>5} {'batch':>5} {'iter':>5}  {'phase':<10} {'loss':>11}  parameters / grads"


def text_line(snapshot: Snapshot) -> str:
    """One compact, aligned line per phase."""
    ev = snapshot.event
    if ev is None:
        head = f"{'':>5} {'':>5} {'':>5}  {'start':<10} {'—':>11}"
    else:
        phase = ev.phase.value + ("*" if ev.skipped else "")
        loss = fmt(ev.loss) if ev.loss is not None else "—"
        label = "val " + loss if ev.phase.value == "validate" else loss
        head = f"{ev.epoch:>5} {ev.batch:>5} {ev.iteration:>5}  {phase:<10} {label:>11}"
    params = snapshot.params
    if len(params) <= INLINE_PARAMS and all(p.value.numel <= 2 for p in params):
        vals = " ".join(f"{p.name}={_vals(p.value)}" for p in params)
        grads = " ".join(f"∇{p.name}={_vals(p.grad) if p.grad is not None else 'None'}" for p in params)
        body = f"{vals}  {grads}"
    else:
        total = sum(p.value.norm**2 for p in params) ** 0.5
        grads = [p.grad for p in params if p.grad is not None]
        gnorm = fmt(sum(g.norm**2 for g in grads) ** 0.5) if grads else "None"
        body = f"{len(params)} tensors ‖θ‖={fmt(total)} ‖∇‖={gnorm}"
    tail = f"  passes={snapshot.grad_passes}"
    if ev is not None and ev.skipped:
        tail += " (zero_grad skipped)"
    if ev is not None and ev.location is not None:
        tail += f"  {ev.location}"
    if ev is not None and ev.detail:
        tail += f"  {ev.detail}"
    return head + "  " + body + tail


def _vals(summary) -> str:
    values = summary.values() if summary is not None else None
    if values is None:
        return fmt(summary.mean) if summary is not None else "None"
    flat = values.reshape(-1)
    if flat.size == 1:
        return fmt(float(flat[0]))
    return "[" + ",".join(fmt(float(v)) for v in flat) + "]"


def jsonl_line(snapshot: Snapshot) -> str:
    return compact_json(snapshot.to_json())


def compact_json(record: dict[str, Any]) -> str:
    """One compact JSON line. msgspec writes a small model's record (~4 KB, mostly floats)
    ~15x faster than ``json.dumps``; non-finite numbers are strings by then (``json_float``)."""
    return _encoder()(record).decode()


@cache
def _encoder():
    import msgspec  # with the first JSONL record, not with the app

    return msgspec.json.Encoder().encode


def _watch_json(watch: WatchValue):
    return {"disabled": True} if watch.answer is None else watch.answer.to_json()


def _watch_text(watch: WatchValue) -> str:
    answer = watch.answer
    if answer is None:
        return "(disabled)"
    if answer.summary is None and answer.number is not None and not answer.error:
        return fmt(answer.number)  # rounded as every other number on the line
    return answer.line()


#: How long a line written to a regular file may wait in the buffer.
FILE_FLUSH_S = 0.25


def _regular_file(out: TextIO) -> bool:
    try:
        return stat.S_ISREG(os.fstat(out.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):  # no descriptor (a StringIO, a closed file)
        return False


class StreamWriter:
    """Writes one whole line per phase, so a reader never sees half a record: to a pipe or
    a terminal each line is flushed at once.

    To a regular file (``> run.log``), lines wait here and go out together, whole, at most
    every :data:`FILE_FLUSH_S` and at once at a stop or :meth:`flush`: a system call per
    phase would cost more than the phase's line (a ``tail -f`` reader still sees them
    within that time). They wait here, not in the file's buffer, which writes out whatever
    fills it, half a line included."""

    def __init__(self, out: TextIO, fmt_name: str = "text", fields: dict | None = None) -> None:
        """``fields``: added to every JSONL record (a torchrun job's rank and world size)."""
        self.out = out
        self._flush_each = not _regular_file(out)
        self._flushed_at = time.monotonic()
        self._pending: list[str] = []
        #: The training thread writes; a hard exit (another thread) flushes what waits.
        self._lock = threading.Lock()
        self.format = fmt_name
        self.fields = dict(fields or {})
        self._header_done = False
        #: A torchrun job's text lines start with the rank; its stop marker waits until
        #: every rank's line at the pause is written (see :meth:`end_pause`).
        self._rank: int | None = self.fields.get("rank")
        self._marker: str | None = None

    def write(
        self, snapshot: Snapshot, reason: str | None = None, watches: Sequence[WatchValue] = ()
    ) -> None:
        """One record; ``reason`` (why the run stopped here) and the watches' values are
        added when given."""
        if self.format == "jsonl":
            if reason is None and not watches and not self.fields:
                line = jsonl_line(snapshot)
            else:
                record = {**snapshot.to_json(), **self.fields}
                if reason is not None:
                    record["reason"] = reason
                if watches:
                    record["watch"] = {w.expression: _watch_json(w) for w in watches}
                line = compact_json(record)
        else:
            if not self._header_done:
                self._add(("rank " if self._rank is not None else "") + text_header() + "\n")
                self._header_done = True
            line = text_line(snapshot)
            if self._rank is not None:
                line = f"{self._rank:>4} {line}"
            if watches:
                line += "  " + "  ".join(f"{w.expression}={_watch_text(w)}" for w in watches)
            if reason is not None and self._rank is not None:
                self._marker = reason  # under the last rank's line at this pause
            elif reason is not None:
                line += f"\n  ^ {reason}"
        self._add(line + "\n")
        if reason is not None or self._flush_each:
            self.flush()
        elif time.monotonic() - self._flushed_at >= FILE_FLUSH_S:
            self.flush()

    def _add(self, text: str) -> None:
        with self._lock:  # never between a flush's write and its clear
            self._pending.append(text)

    def flush(self, timeout: float = 1.0) -> None:
        """Write out the lines waiting, whole, in one write. ``timeout``: how long to wait
        for a write in progress in another thread (one stuck on a pipe nobody reads must
        not hold up a hard exit's flush)."""
        if not self._lock.acquire(timeout=timeout):
            return
        try:
            if self._pending:
                self.out.write("".join(self._pending))
                self._pending.clear()
            self.out.flush()
        finally:
            self._lock.release()
        self._flushed_at = time.monotonic()

    def write_other(self, rank: int, record: dict, text: str) -> None:
        """The record of another rank at the same pause (a torchrun job's), as it sent it."""
        if self.format == "jsonl":
            line = compact_json(record)
        else:
            line = f"{rank:>4} {text}"
        self._add(line + "\n")
        self.flush()

    def end_pause(self) -> None:
        """Every rank's line at this pause is written: the stop marker, if any, goes under them."""
        if self._marker is not None:
            self._add(f"  ^ {self._marker}\n")
            self.flush()
            self._marker = None
