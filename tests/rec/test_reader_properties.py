"""The reader never lets an exception escape: a cut file is a valid prefix, damage is one clean line."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopstep.engine.recording import RecordingError, read_recording, replay_session
from loopstep.engine.recording.format import MAGIC
from loopstep.targets import TargetError, open_recording

PROPERTY = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def original(linreg_recording) -> bytes:
    with open(linreg_recording, "rb") as handle:
        return handle.read()


@pytest.fixture(scope="module")
def full(linreg_recording):
    return read_recording(linreg_recording)


def _replay_all(recording) -> int:
    """Step a recording through the stepper to its end; returns the phases seen."""
    from loopstep.engine import Command

    seen = []
    stepper = replay_session(recording).new_stepper(
        controller=lambda snapshot, reason: (seen.append(snapshot), Command.STEP)[1]
    )
    stepper.run()
    assert stepper.error is None
    return len(seen)


def _write(tmp_path, data: bytes) -> str:
    path = tmp_path / "cut.lsr"
    path.write_bytes(data)
    return str(path)


@PROPERTY
@given(fraction=st.floats(min_value=0.0, max_value=1.0))
def test_a_cut_file_replays_its_whole_iterations(tmp_path, original, full, fraction):
    size = int(len(original) * fraction)
    path = _write(tmp_path, original[:size])
    try:
        recording = read_recording(path)
    except RecordingError as exc:
        assert str(exc).startswith("loopstep: ") and "\n" not in str(exc)
        assert size < len(original) // 10  # only a file cut before its first frames is refused
        return
    # A prefix: the same phases, as many as whole frames survived, ending at an iteration end.
    assert [p.event for p in recording.phases] == [p.event for p in full.phases[: len(recording.phases)]]
    if recording.phases and size < len(original):
        assert recording.phases[-1].event.phase.value in ("zero_grad", "validate")
    if size < len(original):
        assert recording.cut_off and "cut off" in recording.stop_note()
    assert _replay_all(recording) == len(recording.phases) + 1


@PROPERTY
@given(data=st.data())
def test_flipped_bytes_give_a_prefix_or_one_clean_line(tmp_path, original, full, data):
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(damaged) - 1))
        damaged[at] ^= data.draw(st.integers(1, 255))
    path = _write(tmp_path, bytes(damaged))
    try:
        recording = read_recording(path)
    except RecordingError as exc:
        message = str(exc)
        assert message.startswith("loopstep: ") and "\n" not in message
        with pytest.raises(TargetError):
            open_recording(path)
        return
    # Damage that got through is in a spot that does not matter (a cut-off-looking tail).
    assert [p.event for p in recording.phases] == [p.event for p in full.phases[: len(recording.phases)]]
    _replay_all(recording)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (MAGIC[:5], "is empty"),
        (b"PK\x03\x04 a zip file", "is not a loopstep recording"),
        (b"loopstep-recording 9\n{}", r"newer loopstep \(format 9"),
        (b"loopstep-recording x\n", "is not a loopstep recording"),
        (MAGIC + b'{"k":"start"} 00000000 00000000\n', "fails its checksum"),
        (MAGIC + b"no header here\n", "is malformed"),
    ],
)
def test_foreign_newer_and_damaged_files(tmp_path, content, message):
    path = _write(tmp_path, content)
    with pytest.raises(RecordingError, match=message):
        read_recording(path)


def test_a_file_that_is_not_readable(tmp_path):
    folder = tmp_path / "dir.lsr"
    folder.mkdir()
    with pytest.raises(RecordingError, match="is a directory"):
        read_recording(str(folder))
    with pytest.raises(RecordingError, match="no such recording"):
        read_recording(str(tmp_path / "missing.lsr"))
    if os.geteuid() != 0:
        locked = _write(tmp_path, MAGIC)
        os.chmod(locked, 0)
        with pytest.raises(RecordingError, match="permission denied"):
            read_recording(locked)
