"""The writer process: the same bytes as writing in-process, and nothing lost when it dies,
when a frame does not fit its ring, or when the disk is full."""

from __future__ import annotations

import errno
import os
import re
import signal
import time

import pytest

from loopstep.engine import Command
from loopstep.engine.recording import read_recording, record_session, sink
from loopstep.engine.recording.format import frame_buffers, header_text

pytestmark = pytest.mark.skipif(
    not hasattr(os, "memfd_create"), reason="the writer process needs memfd_create"
)


def frames(count: int, size: int = 3000) -> list[tuple[bytes, list[bytes]]]:
    """Frames as the recorder hands them over: JSON text and payload parts."""
    out = []
    for i in range(count):
        parts = [bytes([i % 251]) * (size // 2), bytes([(i * 7) % 251]) * (size - size // 2)]
        out.append((header_text({"k": "events", "i": i}, size), parts))
    return out


def expected_bytes(items) -> bytes:
    out = b""
    for text, parts in items:
        buffers, _ = frame_buffers({"k": "events", "i": int(re.search(rb'"i":(\d+)', text)[1])}, parts, 3000)
        out += b"".join(buffers)
    return out


def write_through_sink(path, items, ring_bytes: int, between=None) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        writer = sink.start_sink(fd, ring_bytes)
        assert writer is not None
        for n, (text, parts) in enumerate(items):
            writer.put(text, parts, sum(map(len, parts)))
            if between is not None:
                between(n, writer)
        writer.close()
    finally:
        os.close(fd)


def test_frames_through_a_small_ring_come_out_whole_and_in_order(tmp_path):
    items = frames(200)  # 200 frames of 3 KB through a 16 KB ring: it wraps many times
    write_through_sink(tmp_path / "f", items, ring_bytes=16 << 10)
    assert (tmp_path / "f").read_bytes() == expected_bytes(items)


def test_a_frame_too_big_for_the_ring_is_written_here_in_its_place(tmp_path):
    items = frames(10)
    big = (header_text({"k": "events", "i": 99}, 3000), [b"B" * 1500, b"b" * 1500])
    items.insert(5, big)
    write_through_sink(tmp_path / "f", items, ring_bytes=4096)  # half the ring: 2 KB
    assert (tmp_path / "f").read_bytes() == expected_bytes(items)


def test_a_killed_writer_loses_nothing(tmp_path):
    """The writer dies mid-run: what it left in the ring is written by the training process."""

    def kill_at_50(n, writer):
        if n == 50:
            os.kill(writer.process.pid, signal.SIGKILL)
            writer.process.wait()

    items = frames(120)
    write_through_sink(tmp_path / "f", items, ring_bytes=64 << 10, between=kill_at_50)
    assert (tmp_path / "f").read_bytes() == expected_bytes(items)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_is_reported_not_hidden():
    fd = os.open("/dev/full", os.O_WRONLY)
    try:
        writer = sink.start_sink(fd)
        with pytest.raises(OSError) as raised:
            for text, parts in frames(20):
                writer.put(text, parts, 3000)
                time.sleep(0.005)
            writer.close()
        assert raised.value.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_the_writer_process_and_the_recorder_alone_write_the_same_file(tmp_path, monkeypatch):
    """Byte for byte, checksums included. The two runs start at different times, and the
    start frame's header checksum covers its ``created``: removing the field from the text
    (as this test once did) still left the checksum differing whenever the runs fell in two
    different seconds. The clock is fixed instead, for both runs."""
    from loopstep.scenarios import scenario_session

    stamp = "2001-02-03T04:05:06Z"
    monkeypatch.setattr("loopstep.engine.recording.writer.created_stamp", lambda: stamp)
    paths = []
    for use_sink in (True, False):
        if not use_sink:
            monkeypatch.setattr("loopstep.engine.recording.writer.start_sink", lambda fd: None)
        path = tmp_path / f"mlp-{use_sink}.lsr"
        session = record_session(scenario_session("mlp", epochs=2), str(path), "small")
        stepper = session.new_stepper(controller=lambda snapshot, reason: Command.CONTINUE)
        stepper.run()
        assert stepper.error is None
        paths.append(path)
    with_sink, alone = (p.read_bytes() for p in paths)
    assert b'"created":"%s"' % stamp.encode() in with_sink  # the recorder did take the fixed clock
    assert with_sink == alone
    recording = read_recording(str(paths[0]))
    assert recording.end["reason"] == "finished" and len(recording.phases) > 20


def test_a_writer_that_never_writes_is_given_up_and_nothing_is_lost(tmp_path, monkeypatch):
    """An executable that is not Python (or a stuck writer): after a while without progress
    the training process ends it and writes the frames itself."""
    fake = tmp_path / "not-python"
    fake.write_text("#!/bin/sh\nsleep 60\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sink.sys, "executable", str(fake))
    monkeypatch.setattr(sink, "STALL_S", 0.3)
    items = frames(30)
    write_through_sink(tmp_path / "f", items, ring_bytes=16 << 10)
    assert (tmp_path / "f").read_bytes() == expected_bytes(items)


def test_a_pipe_is_written_in_process(tmp_path):
    """A frame cut by a dying writer cannot be taken back out of a pipe: no writer for one."""
    read_end, write_end = os.pipe()
    try:
        assert sink.start_sink(write_end) is None
    finally:
        os.close(read_end)
        os.close(write_end)
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT)
    try:
        assert sink.start_sink(fd, 4096) is not None  # a plain file does get one
    finally:
        os.close(fd)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_lets_go_of_the_writer(tmp_path):
    """A DataLoader worker forked from the run writes nothing and holds no end of the pipe
    that tells the writer the run is gone."""
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    writer = sink.start_sink(fd)
    wake_fd = writer.wake_fd
    pid = os.fork()
    if pid == 0:  # the child: exit status 0 only if it let go
        ok = False
        try:
            ok = writer.detached and writer.wake_fd == -1
            try:
                os.fstat(wake_fd)
                ok = False
            except OSError:
                pass
            text, parts = frames(1)[0]
            writer.put(text, parts, 3000)  # a no-op here
            writer.close()
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    items = frames(5)
    for text, parts in items:
        writer.put(text, parts, 3000)
    writer.close()
    os.close(fd)
    assert (tmp_path / "f").read_bytes() == expected_bytes(items)
