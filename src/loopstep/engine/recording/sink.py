"""Hands a recording's frames to its writer process (``sink_main.py``) through shared memory.

Copying a frame into the ring costs the training step a few microseconds; the checksum and
the write happen on another core. Where the writer cannot run (no ``memfd_create``: macOS,
Windows; no Python executable to start), :func:`start_sink` returns None and the recorder
writes each frame itself, as before. Should the writer die, the frames it had not written
are written from the ring here and the recorder goes on writing by itself: nothing is lost.
"""

from __future__ import annotations

import mmap
import os
import subprocess
import sys
import threading
import time
import weakref

from .sink_main import (
    CLOSE,
    CONSUMER,
    CONTROL_SIZE,
    PRODUCED,
    RECORD_HEAD,
    WAKE,
    WRAP,
    drain,
    file_offset,
    frame_parts,
    write_all,
)

#: Bytes of frames the ring holds; a frame above half of it is written here, directly.
#: Measured on mlp: 2 MB took the copy 8 µs a frame, 512 kB 10.5 µs, 128 kB 16 µs (it waited).
RING_BYTES = 2 << 20
#: Seconds close() waits for the writer to write what is left before it takes over.
CLOSE_WAIT_S = 30.0
#: Seconds without progress after which a writer is given up and its frames written here.
STALL_S = 10.0
#: Puts between two checks that the writer is alive (a system call each).
CHECK_EVERY = 64


def start_sink(file_fd: int, ring_bytes: int = RING_BYTES) -> FrameSink | None:
    """A writer process appending to ``file_fd``; None where none can run here: no
    ``memfd_create``, no Python to start (a frozen app's executable is the app itself), or
    a file that is a pipe (a frame cut by a dying writer could not be taken back)."""
    if (
        not hasattr(os, "memfd_create")
        or not sys.executable
        or getattr(sys, "frozen", False)
        or os.environ.get("LOOPSTEP_RECORD_SINK") == "0"
        or file_offset(file_fd) < 0
    ):
        return None
    try:
        return FrameSink(file_fd, ring_bytes)
    except OSError:
        return None


class FrameSink:
    """The training process's end of the ring."""

    def __init__(self, file_fd: int, ring_bytes: int) -> None:
        self.file_fd = file_fd
        ring_bytes -= ring_bytes % 8  # records are padded to 8 bytes
        self.capacity = ring_bytes
        ring_fd = os.memfd_create("loopstep-recording", os.MFD_CLOEXEC)
        wake_read = wake_write = -1
        try:
            os.ftruncate(ring_fd, CONTROL_SIZE + ring_bytes)
            # Its pages are made now, not one page fault at a time during the run.
            populate = getattr(mmap, "MAP_POPULATE", 0)
            self.ring = mmap.mmap(ring_fd, CONTROL_SIZE + ring_bytes, flags=mmap.MAP_SHARED | populate)
            CONSUMER.pack_into(self.ring, PRODUCED.size, 0, 0, file_offset(file_fd))
            wake_read, wake_write = os.pipe()
            script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sink_main.py")
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", script, str(ring_fd), str(file_fd), str(wake_read)],
                pass_fds=(ring_fd, file_fd, wake_read),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # never a word on the app's screen
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # out of the terminal's process group: ^C is not for it
            )
        except BaseException:
            for fd in (ring_fd, wake_read, wake_write):
                if fd >= 0:
                    os.close(fd)
            raise
        os.close(ring_fd)
        os.close(wake_read)
        os.set_blocking(wake_write, False)
        self.wake_fd = wake_write
        self.half = ring_bytes // 2  # a frame above this is written here, directly
        self.produced = 0
        #: The writer's consumed mark when last read: room is known without reading it again.
        self.consumed_seen = 0
        self.puts = 0
        self.alive = True
        #: In a process forked from the run (a DataLoader worker): the file is the run's, not ours.
        self.detached = False
        _SINKS.add(self)

    def put(self, text: bytes, parts: list, size: int) -> None:
        """Queue one frame (JSON ``text``, payload ``parts`` of ``size`` bytes). OSError: a
        frame could not be written (a full disk); the file keeps the frames before it."""
        if self.detached:
            return
        need = (RECORD_HEAD.size + len(text) + size + 7) & ~7  # padded(), without the call
        if need <= self.half and self._writer_alive() and self._queue(text, parts, size, need):
            return
        if self.alive:
            self._wait_until(self.produced)  # the frames queued before this one go first
        write_all(self.file_fd, frame_parts(text, parts))
        if self.alive:  # the writer is idle (the ring is empty): the file's size is told here
            CONSUMER.pack_into(self.ring, PRODUCED.size, self.produced, 0, file_offset(self.file_fd))

    def _queue(self, text: bytes, parts: list, size: int, need: int) -> bool:
        ring, capacity = self.ring, self.capacity
        produced = self.produced
        offset = produced % capacity
        skip = capacity - offset if offset + need > capacity else 0  # a record never wraps
        end = produced + skip + need - capacity
        if end > self.consumed_seen:  # the last look at the writer does not say there is room
            self._wait_until(end)
            if not self.alive:
                return False
        if skip:
            RECORD_HEAD.pack_into(ring, CONTROL_SIZE + offset, WRAP, 0)
            offset = 0
        at = CONTROL_SIZE + offset
        RECORD_HEAD.pack_into(ring, at, len(text), size)
        at += RECORD_HEAD.size
        ring[at : at + len(text)] = text
        at += len(text)
        for part in parts:
            n = len(part) if type(part) is bytes else memoryview(part).nbytes
            ring[at : at + n] = part
            at += n
        self.produced = produced + skip + need
        PRODUCED.pack_into(ring, 0, self.produced)
        return True

    def _wait_until(self, consumed: int) -> None:
        """Until the writer has written the first ``consumed`` bytes of the ring (or is gone)."""
        done, error, _ = CONSUMER.unpack_from(self.ring, PRODUCED.size)
        self.consumed_seen = done
        if error:
            raise _writer_error(error)
        if done >= consumed:
            return
        self._send(WAKE)
        progress, stalled_since = done, time.monotonic()
        while (done := CONSUMER.unpack_from(self.ring, PRODUCED.size)[0]) < consumed:
            if not self._writer_alive(check=True):
                return
            now = time.monotonic()
            if done != progress:
                progress, stalled_since = done, now
            elif now - stalled_since > STALL_S:
                # Not a writer (an executable that is not Python), or one stuck: end it and
                # write from here.
                self.process.kill()
                self.process.wait()
                self._take_over()
                return
            time.sleep(0.0005)
        self.consumed_seen, error, _ = CONSUMER.unpack_from(self.ring, PRODUCED.size)
        if error:
            raise _writer_error(error)

    def _send(self, message: bytes) -> None:
        try:
            os.write(self.wake_fd, message)
        except OSError:
            pass  # the pipe is full of wake-ups already, or the writer is gone

    def _writer_alive(self, check: bool = False) -> bool:
        """Whether the writer still runs (asked of the system every CHECK_EVERY frames). On
        every such check its error, if any, is raised: a full disk is told within a few frames."""
        if not self.alive:
            return False
        self.puts += 1
        if check or self.puts % CHECK_EVERY == 0:
            if self.process.poll() is not None:
                self._take_over()
            else:
                self.consumed_seen, error, _ = CONSUMER.unpack_from(self.ring, PRODUCED.size)
                if error:
                    raise _writer_error(error)
        return self.alive

    def close(self) -> None:
        """Have every frame written. OSError: some could not be (the file keeps the whole ones)."""
        if self.detached:
            return
        try:
            if self.alive:
                self._send(CLOSE)  # it writes what is left, then exits
                deadline = time.monotonic() + CLOSE_WAIT_S
                while self.process.poll() is None and time.monotonic() < deadline:
                    if CONSUMER.unpack_from(self.ring, PRODUCED.size)[0] >= self.produced:
                        # All written: its exit is not worth waiting for, only collecting.
                        threading.Thread(target=self.process.wait, daemon=True).start()
                        break
                    time.sleep(0.0002)
                else:
                    if self.process.poll() is None:
                        self.process.kill()  # a stalled disk: what is left is written from here
                        self.process.wait()
                self._take_over()
        finally:
            if self.wake_fd >= 0:
                os.close(self.wake_fd)
                self.wake_fd = -1
            self.ring.close()

    def _take_over(self) -> None:
        """The writer has exited: write from here whatever it left in the ring."""
        self.alive = False
        consumed, error, file_size = CONSUMER.unpack_from(self.ring, PRODUCED.size)
        if error:
            raise _writer_error(error)
        if consumed >= self.produced:
            return
        if file_size >= 0:  # a frame it was writing when it died is cut: go on after its last whole one
            os.ftruncate(self.file_fd, file_size)
            os.lseek(self.file_fd, file_size, os.SEEK_SET)
        drain(self.ring, self.capacity, self.produced, self.file_fd)  # as the writer would have
        _, error, _ = CONSUMER.unpack_from(self.ring, PRODUCED.size)
        if error:
            raise _writer_error(error)


#: The sinks of this process, for a fork to let go of.
_SINKS: weakref.WeakSet = weakref.WeakSet()


def _detach_after_fork() -> None:
    """In a forked child: hold no end of the wake pipe (the writer sees the run's death when
    the run dies, not when its last worker does) and write nothing to the run's file."""
    for frame_sink in list(_SINKS):
        frame_sink.detached = True
        frame_sink.alive = False
        if frame_sink.wake_fd >= 0:
            try:
                os.close(frame_sink.wake_fd)
            except OSError:
                pass
            frame_sink.wake_fd = -1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_detach_after_fork)


def _writer_error(errno: int) -> OSError:
    return OSError(errno, os.strerror(errno) if errno > 0 else "the recording's writer failed")
