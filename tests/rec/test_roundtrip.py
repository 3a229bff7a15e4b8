"""A replay prints what the recorded run printed, and its numbers are the run's numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from loopstep.cli import main as cli_main
from loopstep.engine.recording import read_recording

from .conftest import run_cli


@pytest.mark.parametrize(
    "args",
    [
        ["linreg", "--iterations", "12"],
        ["linreg", "--no-zero-grad", "--iterations", "9", "--lr", "0.01"],
        ["linreg", "--backend", "torch", "--iterations", "10", "--record-tensors", "all"],
        ["linreg", "--epochs", "2"],  # crosses validate and an epoch boundary
    ],
)
@pytest.mark.parametrize("fmt", ["text", "jsonl"])
def test_replay_stream_equals_trace_stream(tmp_path, capsys, args, fmt):
    path = tmp_path / "run.lsr"
    status, live, _ = run_cli(capsys, ["trace", *args, "--format", fmt, "--record", str(path)])
    assert status == 0
    status, replayed, err = run_cli(capsys, ["replay", str(path), "--no-tui", "--format", fmt])
    assert status == 0
    assert replayed == live
    assert "the recording ends" in err


def test_mlp_replay_keeps_values_and_statistics(tmp_path, capsys):
    """float32 statistics are recomputed in float64 at replay: equal to rounding."""
    path = tmp_path / "mlp.lsr"
    _, live, _ = run_cli(
        capsys, ["trace", "mlp", "--iterations", "3", "--format", "jsonl", "--record", str(path)]
    )
    _, replayed, _ = run_cli(capsys, ["replay", str(path), "--format", "jsonl"])
    live_records = [json.loads(line) for line in live.splitlines()]
    replay_records = [json.loads(line) for line in replayed.splitlines()]
    assert len(live_records) == len(replay_records) == 15
    for a, b in zip(live_records, replay_records):
        assert (a["phase"], a["iteration"], a["loss"], a["model_mode"]) == (
            b["phase"],
            b["iteration"],
            b["loss"],
            b["model_mode"],
        )
        for name, param in a["params"].items():
            assert b["params"][name]["norm"] == pytest.approx(param["norm"], rel=1e-5)
            assert param.get("values") == b["params"][name].get("values")
        for name, grad in a["grads"].items():
            if grad is None:
                assert b["grads"][name] is None
            else:
                assert b["grads"][name]["norm"] == pytest.approx(grad["norm"], rel=1e-5, abs=1e-12)


def test_summary_policy_keeps_no_values(tmp_path, capsys):
    path = tmp_path / "mlp.lsr"
    assert (
        cli_main(["trace", "mlp", "--iterations", "2", "--record", str(path), "--record-tensors", "summary"])
        == 0
    )
    capsys.readouterr()
    recording = read_recording(str(path))
    step = next(r for r in recording.phases if r.event.phase.value == "step")
    assert step.arrays and all(not isinstance(v, np.ndarray) for v in step.arrays.values())
    status, out, _ = run_cli(capsys, ["replay", str(path), "--no-tui"])
    assert status == 0 and "‖θ‖=" in out


def test_small_policy_keeps_values_in_the_file(tmp_path):
    path = tmp_path / "lin.lsr"
    assert cli_main(["trace", "--iterations", "2", "--record", str(path)]) == 0
    recording = read_recording(str(path))
    step = next(r for r in recording.phases if r.event.phase.value == "step")
    assert isinstance(step.arrays["w"], np.ndarray) and step.arrays["w"].shape == (1,)
    assert recording.end["reason"] == "quit"


def test_a_recorded_script_replays_its_stream(tmp_path):
    """loopstep run --record on an unmodified script: replay prints the same lines."""
    import os
    import subprocess
    import sys

    src = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "src"))
    script = os.path.join(os.path.dirname(__file__), "..", "scripts", "plain_loop.py")
    path = str(tmp_path / "script.lsr")
    env = dict(os.environ, PYTHONPATH=src)
    live = subprocess.run(
        [sys.executable, "-m", "loopstep", "run", "--no-tui", "--iterations", "4", "--record", path, script],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert live.returncode == 0, live.stderr
    replayed = subprocess.run(
        [sys.executable, "-m", "loopstep", "replay", path, "--no-tui"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == live.stdout
    recording = read_recording(path)
    assert recording.params and any(r.event.location for r in recording.phases)
