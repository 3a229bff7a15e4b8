"""The recording's writer process: takes frames from shared memory, checksums and writes them.

Checksumming a frame and writing it to the file took about half of what recording costs a
small model's training step, and a slow disk (NFS on a cluster) could stall the step for
longer. The training process now copies each frame into a ring of shared memory; this
process, on another core, turns it into the frame line and writes it. It also keeps the
file going when the training process is killed: it writes every frame it was handed,
then exits.

Standard library only, and run with ``python -I -S`` from its path: it starts quickly and
loads nothing of the run. ``format.py`` imports :func:`frame_parts` from here, so the two
writers (this one and the training process's own fallback) write the same bytes.

The ring (one producer, one consumer) starts with a control block of counters; records are
``<u32 text length><u32 payload length><text><payload>``, padded to 8 bytes, and never
wrap: a record that would reach the end is put at the start, after a ``WRAP`` marker.
"""

from __future__ import annotations

import os
import select
import signal
import struct
import sys
import zlib

#: The control block: bytes produced ever (the training process writes it); then bytes
#: consumed ever, the errno of a failed write and the file's size after the last frame
#: written whole (this process writes those).
PRODUCED = struct.Struct("<Q")
CONSUMER = struct.Struct("<Qqq")
CONTROL_SIZE = 64
RECORD_HEAD = struct.Struct("<II")
#: A record head with this text length: the rest of the ring is empty, go on at its start.
WRAP = 0xFFFFFFFF
#: Pipe messages from the training process: more frames (the ring is filling), or the end.
WAKE, CLOSE = b"w", b"c"
#: Seconds between two looks at the ring while frames come, and at most when they do not.
POLL_BUSY_S, POLL_IDLE_S = 0.005, 0.05
#: Most buffers given to one writev() (Linux takes 1024).
MAX_BUFFERS = 512
#: Bytes a frame line adds to its JSON: a space, 8 hex digits, a space, 8 more, a newline.
LINE_EXTRA = 19


def frame_line(text: bytes, body_crc: int) -> bytes:
    """A frame's header line: its JSON, the JSON's checksum and the payload's."""
    return b"%s %08x %08x\n" % (text, zlib.crc32(text), body_crc)


def frame_parts(text: bytes, parts: list) -> list:
    """A whole frame as buffers to write in order: its header line, then the payload's parts
    (checksummed as they are, not joined into one copy first)."""
    body_crc = 0
    for part in parts:
        body_crc = zlib.crc32(part, body_crc)
    return [frame_line(text, body_crc), *parts]


def file_offset(fd: int) -> int:
    """Where the file's next frame goes (it is asked: the training process writes a frame
    too big for the ring itself); -1 for a pipe, which has no such place."""
    try:
        return os.lseek(fd, 0, os.SEEK_CUR)
    except OSError:
        return -1


def padded(size: int) -> int:
    return (size + 7) & ~7


def write_all(fd: int, buffers: list) -> None:
    """Write the buffers in order: one system call, unless the file takes part of them."""
    if len(buffers) > MAX_BUFFERS:
        buffers = [b"".join(buffers)]
    size = sum(memoryview(b).nbytes for b in buffers)
    done = os.writev(fd, buffers)
    if done < size:  # a raw write may take part of the frame (a pipe, a signal)
        rest = memoryview(b"".join(buffers))[done:]
        while rest:
            rest = rest[os.write(fd, rest) :]


def drain(ring, capacity: int, upto: int, file_fd: int) -> None:
    """Write the frames between the consumed mark and ``upto`` (bytes produced)."""
    consumed, error, file_size = CONSUMER.unpack_from(ring, PRODUCED.size)
    if not 0 <= upto - consumed <= capacity:
        return  # a torn read of the counter: look again later
    while consumed < upto:
        at = CONTROL_SIZE + consumed % capacity
        text_len, body_len = RECORD_HEAD.unpack_from(ring, at)
        if text_len == WRAP:
            consumed += capacity - consumed % capacity
        else:
            start = at + RECORD_HEAD.size
            if start + text_len + body_len > CONTROL_SIZE + capacity:
                return  # not a whole record yet: look again later
            text = ring[start : start + text_len]
            with memoryview(ring)[start + text_len : start + text_len + body_len] as body:
                if not error:
                    try:
                        write_all(file_fd, frame_parts(text, [body]))
                        file_size = file_offset(file_fd)
                    except OSError as exc:  # a full disk: the file keeps its whole frames
                        error = exc.errno or -1
            consumed += padded(RECORD_HEAD.size + text_len + body_len)
        # One store for the three (killed between two, a frame would be lost or written twice).
        CONSUMER.pack_into(ring, PRODUCED.size, consumed, error, file_size)


def serve(ring_fd: int, file_fd: int, pipe_fd: int) -> None:
    import mmap

    # The training process decides when this ends (or dies): signals to the terminal's
    # process group, or to the whole job, must not cut the file short first.
    for name in ("SIGINT", "SIGHUP", "SIGTERM", "SIGTSTP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    size = os.fstat(ring_fd).st_size
    ring = mmap.mmap(ring_fd, size)
    capacity = size - CONTROL_SIZE
    seen = 0  # bytes produced at the previous look
    wait = POLL_BUSY_S
    idle = 0
    while True:
        readable, _, _ = select.select([pipe_fd], [], [], wait)
        closing = False
        if readable:
            message = os.read(pipe_fd, 4096)
            closing = not message or CLOSE in message  # EOF: the training process is gone
            wait, idle = POLL_BUSY_S, 0  # it waits for room: look often until it has some
        (produced,) = PRODUCED.unpack_from(ring, 0)
        # Frames are taken one look after they were announced, when the training process's
        # stores have surely reached this core (Python has no memory fence to call). The end
        # comes after the last frame, through a system call that orders them.
        upto = produced if closing else seen
        if upto > CONSUMER.unpack_from(ring, PRODUCED.size)[0]:
            drain(ring, capacity, upto, file_fd)
            wait, idle = POLL_BUSY_S, 0
        else:
            idle += 1
            if idle > 100:
                wait = min(wait * 2, POLL_IDLE_S)
        seen = produced
        if closing:
            return


if __name__ == "__main__":
    serve(*(int(arg) for arg in sys.argv[1:4]))
    os._exit(0)  # everything is written (no buffers here): skip the interpreter's teardown
