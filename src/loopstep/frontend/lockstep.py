"""Rank 0's link to the other ranks of a ``torchrun`` job: every rank pauses at the same phase
before rank 0's front end shows a pause, and each command that ends it moves them all
(see :mod:`..engine.lockstep` for why the number of phases reported says where a rank is).

The other ranks are listening runs of their own, found in this user's runs directory by the
job they belong to; rank 0 attaches to each (the protocol of ``loopstep attach``) and asks it
to pause at rank 0's phase (``pause_at``), or where it is (``where``) when it does not come.
The other ranks wait at their start for rank 0, so from the first phase on they step with it.
One found ahead (it went on into a collective, which holds it until rank 0 gets there) is
left there and joins when rank 0 reaches it: rank 0 is never moved on unseen, so a stop
condition's pause stays where it fired. A rank that does not arrive within a few seconds
(its loop went another way) is left where it is and the status says so; nothing hangs on it.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import mmap
import os
import queue
import struct
import threading
import time
from concurrent.futures import Future

from ..engine.expressions import FrameQuestion
from ..engine.lockstep import GATE_POLL_S, GATE_SPIN_S, PAST_EVERYTHING, RankPause
from ..engine.remote_protocol import STEPPING_REASONS
from ..engine.training_frame import NoFrame
from .attach import AttachError, Connection
from .distributed import RankPlace
from .runs import list_runs, runs_dir
from .snapshot_wire import pause_of, unpacked

#: How long rank 0 waits for the other ranks to start listening.
FIND_S = 60.0
#: With no word from a rank for this long, rank 0 asks where it is.
ASK_S = 0.3
#: With no progress for this long, a rank is left where it is ("not in step").
STALL_S = 5.0
#: A rank held at a phase rank 0 does not reach though it runs (its loop went another way)
#: goes on after this long, rather than wait for a rank 0 that waits for it; rank 0 waits as
#: long for another rank to reach its phase.
GATE_STALL_S = 2.0
#: Rank 0's word: the phase it went past; 1 while it is paused. Another rank's: the phase
#: it is at; flags STOPPED (a condition of its own stopped it there) and ARMED (it has
#: conditions: rank 0 waits for it at each phase; without, rank 0 never waits for it).
_PROGRESS = struct.Struct("<qq")
STOPPED, ARMED = 1, 2


def progress_path(job: str, rank: int = 0) -> str:
    """Where a rank says how far it went, for the other ranks of its job on this machine."""
    tag = hashlib.sha1(job.encode()).hexdigest()[:16]
    return os.path.join(runs_dir(), f"job-{tag}.progress" + (f".{rank}" if rank else ""))


class Progress:
    """One rank's progress word, written at every phase: 16 bytes in a shared file, no syscall."""

    def __init__(self, job: str, rank: int = 0) -> None:
        self.path = progress_path(job, rank)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, _PROGRESS.pack(-1, 0))
            self._map = mmap.mmap(fd, _PROGRESS.size)
        finally:
            os.close(fd)

    def publish(self, seq: int, flags: int) -> None:
        _PROGRESS.pack_into(self._map, 0, seq, int(flags))


class ProgressReader:
    """Another rank's progress word, read (the file opened once it exists)."""

    def __init__(self, job: str, rank: int = 0) -> None:
        self.path = progress_path(job, rank)
        self._map: mmap.mmap | None = None

    def read(self) -> tuple[int, int] | None:
        if self._map is None:
            try:
                fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return None
            try:
                self._map = mmap.mmap(fd, _PROGRESS.size, prot=mmap.PROT_READ)
            except (ValueError, OSError):
                return None  # still being written
            finally:
                os.close(fd)
        return _PROGRESS.unpack_from(self._map, 0)


class FollowerGate:
    """The :class:`~..engine.protocols.Gate` of a rank other than 0: holds it at each phase
    until rank 0 went past it (as long as rank 0 is paused; a couple of seconds while it runs
    and does not come, or while it has not started)."""

    def __init__(self, job: str, rank: int) -> None:
        self._rank_0 = ProgressReader(job)
        self._own = Progress(job, rank)
        self._since: float | None = None
        self._last = -2

    def arrive(self, seq: int, stopped: bool, armed: bool) -> None:
        self._own.publish(seq, (STOPPED if stopped else 0) | (ARMED if armed else 0))
        if seq >= PAST_EVERYTHING:  # this rank's run is over: rank 0, which opened it, keeps it
            with contextlib.suppress(OSError):
                os.unlink(self._own.path)

    def may_pass(self, seq: int) -> bool:
        progress = self._rank_0.read()
        passed, paused = progress if progress is not None else (-1, 0)
        if passed >= seq:
            self._since = None
            return True
        if paused:
            self._since = None
            return False  # rank 0 shows a pause: wait as long as it does
        now = time.monotonic()
        if self._since is None or passed != self._last:
            self._since, self._last = now, passed
        return now - self._since > GATE_STALL_S


class _Link:
    """Rank 0's attach to one other rank: its messages queued for the training thread, except
    the prompt's answers, which settle the futures of the questions they answer."""

    def __init__(self, rank: int, connection: Connection) -> None:
        self.rank = rank
        self.connection = connection
        self.messages: queue.Queue = queue.Queue()
        #: Sends come from the training thread and from the prompt's (the UI's): one at a time.
        self._sending = threading.Lock()
        self._asked: dict[int, Future] = {}
        self._ids = itertools.count(1)
        self._gone = False
        threading.Thread(target=self._read, daemon=True, name=f"loopstep-rank-{rank}").start()

    def _read(self) -> None:
        try:
            for message in self.connection.messages():
                if message["type"] == "answer":
                    self._answered(message)
                else:
                    self.messages.put(message)
        except AttachError:
            pass
        with self._sending:
            self._gone = True
            unanswered, self._asked = self._asked, {}
        for future in unanswered.values():
            future.set_exception(NoFrame(f"rank {self.rank} has ended"))
        self.messages.put({"type": "finished", "status": "gone"})

    def send(self, kind: str, **fields) -> None:
        with self._sending, contextlib.suppress(OSError):
            self.connection.send(kind, **fields)

    def ask(self, question: FrameQuestion) -> Future:
        future: Future = Future()
        with self._sending:
            if self._gone:
                future.set_exception(NoFrame(f"rank {self.rank} has ended"))
                return future
            ident = next(self._ids)
            self._asked[ident] = future
            with contextlib.suppress(OSError):
                self.connection.send(
                    "evaluate",
                    id=ident,
                    ask=question.kind,
                    text=question.text,
                    statements=question.statements,
                )
        return future

    def _answered(self, message: dict) -> None:
        with self._sending:
            future = self._asked.pop(message.get("id"), None)
        if future is None:
            return
        if "error" in message:
            future.set_exception(NoFrame(f"rank {self.rank}: {message['error']}"))
        elif "whole" in message:
            unreadable = NoFrame(f"rank {self.rank}'s answer could not be read")
            whole = unpacked(message["whole"], unreadable)
            if whole is unreadable:
                future.set_exception(unreadable)
            else:
                future.set_result(whole)
        else:
            future.set_result(message.get("value"))


class JobRanks:
    """The :class:`~..engine.protocols.Aligner` of rank 0."""

    def __init__(self, place: RankPlace) -> None:
        self.place = place
        self.progress = Progress(place.job)
        #: Each other rank's word: the phase it is at (and whether it stopped there).
        self._others = [ProgressReader(place.job, rank) for rank in range(1, place.ranks_beside_rank_0)]
        #: Why another rank stopped at this pause, when a condition of its own stopped it.
        self._stopped_for: str | None = None
        self._links: list[_Link] | None = None
        #: rank -> (JSONL record, text line) of its last pause in step with rank 0.
        self.pauses: dict[int, tuple[dict, str]] = {}
        #: rank -> its snapshot and watches at the last pause in step with rank 0 (the app's).
        self.snapshots: dict[int, RankPause] = {}
        #: The app's watch list, and the one the other ranks were last sent.
        self._watches: tuple[str, ...] = ()
        self._watches_sent: tuple[str, ...] = ()
        #: Ranks not in step at the last pause (ahead in a collective, or their loop went
        #: another way), for the status.
        self.out_of_step: list[int] = []
        self._ended: set[int] = set()
        #: A setting changed at this pause, sent with the command that goes on from it.
        self._settings: dict = {}

    # ----- Aligner ------------------------------------------------------------------------------
    def passed(self, seq: int) -> None:
        self.progress.publish(seq, False)
        if seq >= PAST_EVERYTHING:  # the run is over: the ranks that opened the file keep it
            with contextlib.suppress(OSError):
                os.unlink(self.progress.path)

    def hold(self, seq: int) -> None:
        self.progress.publish(seq, True)
        self.pauses, self.snapshots = {}, {}

    def arrived(self, seq: int) -> bool:
        stopped, begun = False, time.monotonic()
        for other in self._others:
            since, last = time.monotonic(), None
            while True:
                word = other.read()
                if word is None or not word[1] & ARMED:
                    break  # no conditions of its own (or not started): nothing to wait for
                if word[0] >= seq:
                    stopped = stopped or (word[0] == seq and bool(word[1] & STOPPED))
                    break
                if word != last:  # it moves (or appeared): wait on
                    since, last = time.monotonic(), word
                elif time.monotonic() - since > GATE_STALL_S:
                    break  # its loop went another way (or it never started): not waited for
                # It is most often less than a phase behind: yield (its phase runs meanwhile)
                # for as long as a phase takes, and only then sleep between looks.
                time.sleep(0 if time.monotonic() - begun < GATE_SPIN_S else GATE_POLL_S)
        return stopped

    def align(self, seq: int) -> str | None:
        self.progress.publish(seq - 1, True)  # the others stop at this phase, not past it
        links = self._connect()
        self.pauses, self.snapshots = {}, {}
        self.out_of_step = []
        self._stopped_for = None
        watches = self._watches
        for link in links:
            if link.rank in self._ended:
                continue
            if watches != self._watches_sent:
                link.send("watches", expressions=list(watches))
            link.send("pause_at", seq=seq)
        self._watches_sent = watches
        for link in links:
            if link.rank not in self._ended and not self._wait(link, seq):
                self.out_of_step.append(link.rank)  # rank 0 pauses where it is: see above
        return self._stopped_for

    def resumed(self, command: str, n: int) -> None:
        settings, self._settings = self._settings, {}
        for link in self._links or []:  # one not in step drops what it waited for and goes on
            if link.rank not in self._ended:
                if settings:  # before the command: taken at the phase rank 0 takes it
                    link.send("settings", **settings)
                link.send("command", command=command, n=n)

    def settings(self, at: int, *, zero_grad: bool | None = None, lr: float | None = None) -> None:
        changed = {key: value for key, value in (("zero_grad", zero_grad), ("lr", lr)) if value is not None}
        self._settings = {**self._settings, **changed}

    def others_at_pause(self) -> list[tuple[int, dict, str]]:
        fields = {"world_size": self.place.world_size}
        return [
            (rank, {**record, "rank": rank, **fields}, text)
            for rank, (record, text) in sorted(self.pauses.items())
        ]

    def ranks_at_pause(self) -> dict[int, RankPause]:
        return dict(self.snapshots)

    def watch(self, expressions) -> None:
        self._watches = tuple(expressions)  # sent by the training thread, at the next pause

    def ask_rank(self, rank: int, question: FrameQuestion) -> Future:
        link = next((link for link in self._links or [] if link.rank == rank), None)
        if link is None or rank not in self.pauses:
            future: Future = Future()
            future.set_exception(NoFrame(f"rank {rank} is not in step at this pause"))
            return future
        return link.ask(question)

    @property
    def world_size(self) -> int:
        return self.place.world_size

    def ended(self) -> None:
        for link in self._links or []:
            link.send("end")

    # ----- internals ------------------------------------------------------------------------------
    def _connect(self) -> list[_Link]:
        if self._links is not None:
            return self._links
        place, wanted = self.place, self.place.ranks_beside_rank_0 - 1  # those on this machine
        deadline = time.monotonic() + FIND_S
        while True:
            found = {r.rank: r for r in list_runs() if r.job == place.job and r.rank > 0}
            if len(found) >= wanted or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        links = []
        for rank, run in sorted(found.items()):
            try:
                links.append(_Link(rank, Connection(run, no_pause=True, snapshots=True)))
            except AttachError:
                continue
        self._links = links
        return links

    def _wait(self, link: _Link, seq: int) -> bool:
        """Until ``link``'s rank pauses at ``seq`` (True), or is found ahead of it, or stalls,
        or ends (False)."""
        last_word = progress = time.monotonic()
        last_seq = -1
        while True:
            try:
                message = link.messages.get(timeout=0.05)
            except queue.Empty:
                now = time.monotonic()
                if now - progress > STALL_S:
                    return False
                if now - last_word > ASK_S:
                    link.send("where")
                    last_word = now
                continue
            kind = message["type"]
            last_word = time.monotonic()
            if kind == "finished":
                self._ended.add(link.rank)
                return False
            if kind == "pause":
                at = int(message.get("seq", -1))
                if at == seq:
                    reason = str(message.get("reason", ""))
                    if reason not in STEPPING_REASONS and self._stopped_for is None:
                        self._stopped_for = f"rank {link.rank}: {reason}"
                    self.pauses[link.rank] = (message["record"], message["text"])
                    whole = pause_of(message["snapshot"]) if "snapshot" in message else None
                    if whole is not None:
                        self.snapshots[link.rank] = whole
                    return True
                if at > seq:
                    return False  # it went on before rank 0 came: it joins when rank 0 gets there
                continue  # an older pause, said twice
            if kind == "position":
                at = int(message["seq"])
                if at != last_seq:
                    last_seq, progress = at, time.monotonic()
                if at > seq or (at == seq and not message.get("held")):
                    return False  # inside a later phase (a collective) until rank 0 gets there
