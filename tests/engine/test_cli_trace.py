"""loopstep trace: text and JSONL streams, and one-line errors."""

from __future__ import annotations

import json

import pytest


def test_jsonl_has_the_documented_fields(cli):
    result = cli("trace", "linreg", "--iterations", "2", "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["phase"] for r in records] == ["forward", "loss", "backward", "step", "zero_grad"] * 2
    first, loss = records[0], records[1]
    assert first["loss"] is None and isinstance(loss["loss"], float)
    assert list(first["params"]) == ["w", "b"]
    assert first["params"]["w"] == {"shape": [1], "norm": 0.5, "values": [-0.5]}
    # the NumPy loop starts its grads at 0.0, as its code says; a None grad is null (torch's)
    assert first["grads"] == {
        "w": {"shape": [1], "norm": 0.0, "values": [0.0]},
        "b": {"shape": [1], "norm": 0.0, "values": [0.0]},
    }
    torch_first = json.loads(
        cli("trace", "--backend", "torch", "--iterations", "1", "--format", "jsonl").stdout.splitlines()[0]
    )
    assert torch_first["grads"] == {"weight": None, "bias": None}
    assert records[2]["grad_passes"] == 1 and records[4]["grad_passes"] == 0
    assert records[4]["grads"]["w"]["values"] == [0.0]


def test_torch_backend_prints_the_same_losses(cli):
    a = cli("trace", "--iterations", "3", "--format", "jsonl")
    b = cli("trace", "--iterations", "3", "--format", "jsonl", "--backend", "torch")
    la = [json.loads(x)["loss"] for x in a.stdout.splitlines()]
    lb = [json.loads(x)["loss"] for x in b.stdout.splitlines()]
    assert la == pytest.approx(lb, abs=1e-10)


def test_text_mode_is_one_aligned_line_per_phase_without_colour(cli):
    result = cli("trace", "--iterations", "1", "--no-zero-grad")
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["epoch", "batch", "iter", "phase"]
    assert len(lines) == 6
    assert "zero_grad*" in lines[-1] and "skipped" in lines[-1]
    assert "\x1b[" not in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["trace", "nope"], "unknown scenario 'nope'"),
        (["trace", "--backend", "jax"], "invalid choice: 'jax'"),
        (["trace", "mlp", "--backend", "numpy"], "runs on torch, not 'numpy'"),
        (["trace", "--lr", "-1"], "expected a positive number"),
        (["trace", "--lr", "abc"], "expected a number"),
        (["trace", "--iterations", "0"], "at least 1"),
        (["trace", "--seed", "x"], "expected a whole number"),
        (["trace", "--format", "xml"], "invalid choice: 'xml'"),
        (["trace", "--bogus"], "unrecognized arguments: --bogus"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, args, message):
    result = cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
