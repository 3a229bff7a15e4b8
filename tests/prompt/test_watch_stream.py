"""--watch in the text and JSONL streams: each record carries the watches' values, computed
at that phase; on a replay, against what the recording holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).parents[1] / "scripts"


def loopstep(*args, cwd=None):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "loopstep", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.mark.parametrize(
    "target, expression",
    [
        ([str(SCRIPTS / "prompt_loop.py")], "loss.item()*2"),
        (["linreg"], "L*2"),
        (["mlp"], "loss.item()*2"),
    ],
    ids=["script", "numpy scenario", "torch scenario"],
)
def test_a_watch_is_twice_the_loss_at_every_loss_phase(target, expression):
    done = loopstep("trace", "--format", "jsonl", "--iterations", "4", "--watch", expression, *target)
    assert done.returncode == 0, done.stderr
    losses = [r for r in records(done.stdout) if r["phase"] == "loss"]
    assert len(losses) == 4
    for record in losses:
        assert record["watch"][expression] == 2 * record["loss"]


def test_tensors_numbers_and_errors_in_a_record():
    done = loopstep(
        "trace", "--format", "jsonl", "--iterations", "1", "mlp",
        "--watch", "model[0].weight.grad", "--watch", "iteration", "--watch", "nope",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    backward = next(r for r in records(done.stdout) if r["phase"] == "backward")
    grad = backward["watch"]["model[0].weight.grad"]
    assert grad["shape"] == [32, 2] and grad["dtype"] == "float32"
    assert grad["summary"].startswith("tensor[32,2] n=64 x∈[")
    assert backward["watch"]["iteration"] == 0
    assert backward["watch"]["nope"] == {"error": "NameError: name 'nope' is not defined"}


def test_the_text_stream_puts_the_watch_on_the_line():
    done = loopstep("trace", "--iterations", "1", "--watch", "w_grad", "linreg")
    assert done.returncode == 0, done.stderr
    backward = next(line for line in done.stdout.splitlines() if " backward " in line)
    assert "w_grad=-23.72" in backward  # rounded as the rest of the line


def test_a_watch_on_a_replay_reads_the_recording(tmp_path):
    path = tmp_path / "run.lsr"
    done = loopstep("trace", "--iterations", "2", "--record", str(path), "linreg")
    assert done.returncode == 0, done.stderr
    done = loopstep(
        "replay", str(path), "--no-tui", "--format", "jsonl", "--watch", "w", "--watch", "running_loss"
    )
    assert done.returncode == 0, done.stderr
    steps = [r for r in records(done.stdout) if r["phase"] == "step"]
    assert [s["watch"]["w"] for s in steps] == [s["params"]["w"]["values"][0] for s in steps]
    missing = steps[0]["watch"]["running_loss"]["error"]
    assert missing.startswith("NameError") and "the recording holds" in missing and " w" in missing


@pytest.mark.parametrize("bad", ["x =", "opt.zero_grad()", ""])
def test_a_watch_that_is_not_an_expression_is_one_line_and_exit_2(bad):
    done = loopstep("trace", "--watch", bad)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("loopstep: ")


def test_a_none_watch_is_null_in_jsonl():
    done = loopstep(
        "trace", "--format", "jsonl", "--iterations", "1", "--watch", "model[0].weight.grad", "mlp"
    )
    forward = next(r for r in records(done.stdout) if r["phase"] == "forward")
    assert forward["watch"]["model[0].weight.grad"] is None
