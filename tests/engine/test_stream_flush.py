"""The stream of phases to a regular file is buffered (a flush per phase is a system call per
phase) but never loses a line: a stop and a hard exit flush it; to a pipe, each line is
flushed as it is written."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from loopstep.engine import text_format
from loopstep.engine.text_format import StreamWriter

from .helpers import collect, scenario


def _snapshots(n: int = 6):
    snaps, _ = collect(scenario("linreg"), iterations=2)
    return snaps[:n]


def test_to_a_file_lines_wait_in_the_buffer_until_a_stop(tmp_path, monkeypatch):
    monkeypatch.setattr(text_format, "FILE_FLUSH_S", 3600.0)
    path = tmp_path / "run.log"
    snaps = _snapshots()
    with open(path, "w", encoding="utf-8") as out:
        writer = StreamWriter(out)
        for snapshot in snaps[:-1]:
            writer.write(snapshot)
        assert path.read_text() == ""  # not one system call yet
        writer.write(snaps[-1], "loss is nan")  # a stop: the reader must see it now
        written = path.read_text().splitlines()
    assert len(written) == 1 + len(snaps) + 1  # the header, a line per phase, the reason
    assert written[-1] == "  ^ loss is nan"


def test_to_a_file_a_line_waits_no_longer_than_the_flush_interval(tmp_path, monkeypatch):
    monkeypatch.setattr(text_format, "FILE_FLUSH_S", 0.0)
    path = tmp_path / "run.log"
    with open(path, "w", encoding="utf-8") as out:
        writer = StreamWriter(out)
        for i, snapshot in enumerate(_snapshots(), start=1):
            writer.write(snapshot)
            assert len(path.read_text().splitlines()) == 1 + i


def test_to_a_pipe_each_line_is_flushed(monkeypatch):
    monkeypatch.setattr(text_format, "FILE_FLUSH_S", 3600.0)
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w", encoding="utf-8") as out, os.fdopen(read_end, "rb", buffering=0) as reader:
        writer = StreamWriter(out)
        writer.write(_snapshots(1)[0])
        got = reader.read(65536).decode()
    assert got.count("\n") == 2 and "forward" in got


def test_a_hard_exit_flushes_the_stream_it_was_writing(tmp_path):
    path = tmp_path / "run.log"
    code = textwrap.dedent(
        f"""
        from loopstep.frontend.signals import flushed_at_exit, hard_exit
        out = open({str(path)!r}, "w", encoding="utf-8")
        with flushed_at_exit(out):
            out.write("a line still in the buffer\\n")
            hard_exit(3)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert done.returncode == 3
    assert path.read_text() == "a line still in the buffer\n"


def test_to_a_file_only_whole_lines_reach_it(tmp_path, monkeypatch):
    """The file's own buffer writes out whatever fills it: the lines wait in the writer and
    go out whole, so a reader (``tail -f``) never sees half a record."""
    monkeypatch.setattr(text_format, "FILE_FLUSH_S", 3600.0)
    path = tmp_path / "run.jsonl"
    snaps = _snapshots()
    with open(path, "w", encoding="utf-8", buffering=64) as out:  # a buffer smaller than a line
        writer = StreamWriter(out, "jsonl")
        for snapshot in snaps * 3:
            writer.write(snapshot)
            assert path.read_text() == ""
        writer.flush()
        written = path.read_text()
    assert written.endswith("\n") and written.count("\n") == 3 * len(snaps)


def test_the_stream_to_a_file_is_whole_when_the_run_ends(tmp_path):
    """Every line the pipe gets, the file gets: none left waiting in the writer at the end."""
    out = tmp_path / "run.log"
    command = [sys.executable, "-m", "loopstep", "run", "--no-tui", "linreg", "--iterations", "3"]
    to_file = subprocess.run([*command, "--output", str(out)], capture_output=True, text=True, timeout=120)
    to_pipe = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert to_file.returncode == 0 and to_pipe.returncode == 0, to_file.stderr + to_pipe.stderr
    assert len(to_pipe.stdout.splitlines()) == 1 + 3 * 5  # the header, five phases an iteration
    assert out.read_text() == to_pipe.stdout
