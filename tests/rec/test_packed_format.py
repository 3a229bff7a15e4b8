"""Format 2: parameters and grads packed into one block per phase, phase records written by hand.

The writer takes shortcuts for speed; these tests check that what it writes reads back
bit for bit, that it falls back where it must, and that format-1 files still open.
"""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from loopstep.backends.torch.watch import FixedParams, RunWatch
from loopstep.engine import Command
from loopstep.engine.phases import Phase, PhaseEvent, SourceLocation
from loopstep.engine.recording import read_recording, record_session
from loopstep.engine.recording.encode import EventText
from loopstep.engine.recording.reader import _event
from loopstep.scenarios import scenario_session


def _frames(path) -> list[dict]:
    """The JSON header of every frame in a recording, payloads skipped."""
    data = open(path, "rb").read()
    at = data.index(b"\n") + 1
    headers = []
    while at < len(data):
        end = data.index(b"\n", at)
        text = data[at:end].rsplit(b" ", 2)[0]
        header = json.loads(text)
        headers.append(header)
        at = end + 1 + header["n"]
    return headers


def test_packed_blocks_read_back_bit_for_bit(tmp_path):
    path = tmp_path / "mlp.lsr"
    session = record_session(scenario_session("mlp", epochs=1), str(path), "small")
    live: list[tuple[str, dict]] = []

    def controller(snapshot, reason):
        backend = stepper.source.inspector
        if snapshot.event is not None and snapshot.event.phase in (Phase.BACKWARD, Phase.STEP):
            values = {}
            for name, param in backend.model.named_parameters():
                values[name] = param.detach().numpy().copy()
                values[name + ".grad"] = param.grad.numpy().copy()
            live.append((snapshot.event.phase.value, values))
        return Command.STEP if len(live) < 8 else Command.QUIT

    stepper = session.new_stepper(controller=controller)
    stepper.run()
    records = [r for h in _frames(path) if h["k"] == "events" for r in h["ev"]]
    assert any("G" in r for r in records if r["p"] == "backward")  # packed, not name by name
    assert any("P" in r for r in records if r["p"] == "step")
    assert all(r.get("G", 0) is None for r in records if r["p"] == "zero_grad")  # set_to_none

    recording = read_recording(str(path))
    state: dict = dict(recording.initial)
    replayed = []
    for phase in recording.phases:
        state.update(phase.arrays)
        if phase.event.phase in (Phase.BACKWARD, Phase.STEP):
            replayed.append((phase.event.phase.value, dict(state)))
    assert len(live) == 8 and len(replayed) >= 8
    for (live_phase, values), (phase, state_then) in zip(live, replayed):
        assert live_phase == phase
        for name, value in values.items():
            if phase == "backward" and not name.endswith(".grad"):
                continue
            assert state_then[name].dtype == value.dtype and state_then[name].shape == value.shape
            assert np.array_equal(state_then[name], value), name


def _watch_with_grads() -> RunWatch:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model(torch.randn(5, 3)).sum().backward()
    return RunWatch(FixedParams(model), model)


def test_export_packed_matches_the_tensors_and_falls_back_where_it_must():
    watch = _watch_with_grads()
    names = [name for name, _ in watch.named]
    grads = [name + ".grad" for name in names]
    packed = watch.export_packed(names)
    expected = b"".join(p.detach().numpy().tobytes() for _, p in watch.named)
    assert bytes(packed) == expected
    assert bytes(watch.export_packed(grads)) == b"".join(p.grad.numpy().tobytes() for _, p in watch.named)
    # Over the size limit, or a grad missing among present ones: name by name.
    assert watch.export_packed(names, max_numel=4) is None
    watch.named[0][1].grad = None
    assert watch.export_packed(grads) is None
    watch = _watch_with_grads()
    watch.named[-1][1].grad = None  # missing further on: the copy fails, no exception escapes
    assert watch.export_packed(grads) is None
    for _, param in watch.named:
        param.grad = None
    assert watch.export_packed(grads) == "none"
    # Parameters replaced (not updated in place) are seen through fresh views.
    with torch.no_grad():
        watch.named[0][1].data = torch.full_like(watch.named[0][1], 7.0)
    assert np.frombuffer(watch.export_packed(names), np.float32)[0] == 7.0
    # A dtype that is no longer the start frame's (model.double() mid-run): name by name.
    watch.model.double()
    assert watch.export_packed(names) is None
    watch.model(torch.randn(5, 3, dtype=torch.float64)).sum().backward()
    assert watch.export_packed(grads) is None  # the grads of a double model too
    # Part of the model converted mid-run: its grads are not the start frame's layout.
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    mixed = RunWatch(FixedParams(model), model)
    mixed_grads = [name + ".grad" for name, _ in mixed.named]
    model(torch.randn(5, 3)).sum().backward()
    assert mixed.export_packed(mixed_grads) is not None
    model[1].double()
    model.zero_grad()
    model[1](model[0](torch.randn(5, 3)).double()).sum().backward()
    assert mixed.export_packed(mixed_grads) is None
    # A parameter replaced by a strided view cannot be joined as it is: name by name.
    watch = _watch_with_grads()
    assert watch.export_packed(names) is not None
    weight = watch.named[0][1]
    with torch.no_grad():
        weight.data = torch.randn(tuple(reversed(weight.shape))).t()
    assert not weight.is_contiguous() and watch.export_packed(names) is None
    # Asked with a passing list each time, the cache stays small.
    for _ in range(50):
        watch.export_packed(["x", "y", "pred"])
    assert len(watch._packers) <= 8


def test_a_frame_of_more_parts_than_writev_takes_is_written_whole(tmp_path):
    from loopstep.engine.recording.format import PayloadBuilder
    from loopstep.engine.recording.writer import Recorder

    recorder = Recorder(str(tmp_path / "many.lsr"), "small", {})
    payload = PayloadBuilder()
    for i in range(3000):
        payload.block(bytes([i % 256]) * 3)
    recorder._write({"k": "params", "params": []}, payload)
    recorder.close("finished")
    data = (tmp_path / "many.lsr").read_bytes()
    assert b"".join(bytes([i % 256]) * 3 for i in range(3000)) in data
    assert recorder.write_error is None


def test_zeroed_grads_are_written_as_zeros(tmp_path):
    """zero_grad(set_to_none=False): the block of zeros is one marker, read back as zeros."""
    from loopstep.engine.recording.writer import Recorder

    watch = _watch_with_grads()
    names = [name for name, _ in watch.named]
    for _, param in watch.named:
        param.grad.zero_()
    recorder = Recorder(str(tmp_path / "z.lsr"), "small", {})
    recorder.param_names = names
    recorder.grad_names = [n + ".grad" for n in names]
    assert recorder._packed(watch, recorder.grad_names, zeros=True) == ("G", "z")
    recorder.close("finished")


@given(
    phase=st.sampled_from(list(Phase)),
    counters=st.tuples(*[st.integers(0, 10**9)] * 3),
    loss=st.none() | st.floats(allow_nan=True, allow_infinity=True),
    path=st.text(max_size=20),
    line=st.integers(0, 10**6),
    detail=st.text(max_size=20),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans() | st.none()),
)
def test_hand_written_records_parse_back_to_the_same_event(phase, counters, loss, path, line, detail, flags):
    skipped, ends_epoch, ends_iteration = flags
    event = PhaseEvent(
        phase=phase,
        epoch=counters[0],
        batch=counters[1],
        iteration=counters[2],
        skipped=skipped,
        loss=loss,
        location=SourceLocation(path, line, "fn") if path else None,
        detail=detail,
        ends_epoch=ends_epoch,
        ends_iteration=ends_iteration,
    )
    text = EventText().record(event, ("eval", False), (False, 0.5), ',"G":12')
    record = json.loads(text)
    parsed, raw = _event(record)
    if loss is not None and np.isnan(loss):
        assert np.isnan(parsed.loss)
        parsed = PhaseEvent(**{**parsed.__dict__, "loss": loss})
    assert parsed == event
    assert raw["m"] == ["eval", False] and raw["z"] == [False, 0.5] and raw["G"] == 12


def _frame(header: dict, payload: bytes = b"") -> bytes:
    text = json.dumps(dict(header, n=len(payload)), separators=(",", ":")).encode()
    return b"%s %08x %08x\n" % (text, zlib.crc32(text), zlib.crc32(payload)) + payload


def test_a_format_1_file_still_reads(tmp_path):
    """Format 1 named every tensor of a phase: such a file keeps opening."""
    w = np.array([1.5], np.float64)
    grad = np.array([-0.25], np.float64)
    start = {"k": "start", "version": 1, "params": [["w", [1], "float64", True]], "a": {"w": 0}}
    events = {
        "k": "events",
        "first": 0,
        "ev": [
            {"p": "forward", "e": 0, "b": 0, "i": 0},
            {"p": "loss", "e": 0, "b": 0, "i": 0, "l": 2.0},
            {"p": "backward", "e": 0, "b": 0, "i": 0, "l": 2.0, "a": {"w.grad": 0}},
            {"p": "step", "e": 0, "b": 0, "i": 0, "l": 2.0, "a": {"w": 8}},
            {"p": "zero_grad", "e": 0, "b": 0, "i": 0, "l": 2.0, "a": {"w.grad": None}},
        ],
    }
    path = tmp_path / "v1.lsr"
    path.write_bytes(
        b"loopstep-recording 1\n"
        + _frame(start, w.tobytes())
        + _frame(events, grad.tobytes() + (w - 0.1 * grad).tobytes())
        + _frame({"k": "end", "reason": "finished"})
    )
    recording = read_recording(str(path))
    assert [p.event.phase.value for p in recording.phases][-1] == "zero_grad"
    assert recording.phases[2].arrays["w.grad"][0] == pytest.approx(-0.25)
    assert recording.phases[3].arrays["w"][0] == pytest.approx(1.525)
    assert recording.phases[4].arrays["w.grad"] is None


@pytest.mark.parametrize(
    "arrays",
    [
        {"x": np.arange(6, dtype=np.float32).reshape(2, 3), "y": np.array([1, 0], dtype=np.int64)},
        {"w": np.ones((3, 2), np.float32), 'odd "name"': np.arange(4, dtype=np.float16)},
        {"u": np.arange(5, dtype=np.uint16), "b": np.array([True, False])},  # uint16: kept as float64
    ],
)
def test_named_tensor_text_reads_back(arrays):
    """RefText writes the ``"a"`` object by hand; the reader resolves it to the same values."""
    from loopstep.engine.recording.encode import RefText
    from loopstep.engine.recording.format import PayloadBuilder, resolve
    from loopstep.engine.recording.writer import _capture

    layouts = {"w": ("float32", (3, 2))}  # a parameter's layout: referenced by offset alone
    text = RefText(layouts)
    for _ in range(2):  # the second time from the cache
        payload = PayloadBuilder()
        written = text.text({name: _capture(value, False) for name, value in arrays.items()}, payload)
        refs = json.loads("{" + written[1:] + "}")["a"]
        body = b"".join(payload.parts)
        assert list(refs) == list(arrays)
        for name, value in arrays.items():
            if name == "w":
                assert isinstance(refs[name], int)
            back = resolve(refs[name], body, 0, len(body), layouts.get(name))
            assert back.shape == value.shape and np.array_equal(back, value)
            assert back.dtype == (np.float64 if value.dtype == np.uint16 else value.dtype)


def test_named_tensor_text_keeps_one_entry_per_name():
    """A new shape every batch (sequences) replaces the name's entry; nothing piles up."""
    from loopstep.engine.recording.encode import RefText
    from loopstep.engine.recording.format import PayloadBuilder
    from loopstep.engine.recording.writer import _capture

    text = RefText({})
    for n in range(1, 300):
        payload = PayloadBuilder()
        written = text.text({"x": _capture(np.zeros(n, np.float32), False)}, payload)
        assert json.loads("{" + written[1:] + "}")["a"]["x"] == ["v", "float32", [n], 0]
    assert len(text._cache) == 1


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph")
def test_grads_still_in_a_graph_export_one_by_one():
    """backward(create_graph=True) leaves grads that require grad; an unused layer has none."""

    class WithUnused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b, self.unused = nn.Linear(3, 4), nn.Linear(4, 2), nn.Linear(1, 1)

        def forward(self, x):
            return self.b(torch.tanh(self.a(x)))

    model = WithUnused()
    watch = RunWatch(FixedParams(model), model)
    model(torch.randn(5, 3)).pow(2).sum().backward(create_graph=True)
    grads = [name + ".grad" for name, _ in watch.named]
    assert watch.export_packed(grads) is None  # unused.weight has no grad: name by name
    out = watch.export_arrays(grads)
    assert out["unused.weight.grad"] is None
    assert np.array_equal(out["a.weight.grad"], model.a.weight.grad.detach().numpy())


def test_a_batch_tensor_that_changes_dtype_is_still_exported():
    """pred in float32 for one pass and bfloat16 (autocast) the next: each is asked afresh."""
    model = nn.Linear(2, 2)
    watch = RunWatch(FixedParams(model), model)
    watch.set_tensor("pred", torch.ones(3, 2))
    assert watch.export_arrays(["pred"])["pred"].dtype == np.float32
    watch.new_batch()
    watch.set_tensor("pred", torch.full((3, 2), 0.5, dtype=torch.bfloat16))
    exported = watch.export_arrays(["pred"])["pred"]
    assert exported.dtype == np.float32 and np.all(exported == 0.5)
