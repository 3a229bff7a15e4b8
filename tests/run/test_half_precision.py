"""A float16 tensor's 2-norm overflows long before its values do (65504 is float16's
largest): 10000 values of 1000 have norm 1e5. A NaN watch that judged finiteness by that
norm stopped a healthy run, and a grad-norm condition saw Inf; both must see the values."""

from __future__ import annotations

import json
import textwrap

import pytest
import torch

from loopstep.backends.torch.norms import all_finite, fused_norms

SCRIPT = textwrap.dedent(
    """
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    scale = nn.Parameter(torch.full((10000,), 1000.0, dtype=torch.float16))
    opt = torch.optim.SGD([*model.parameters(), scale], lr=1e-9)
    x, y = torch.randn(8, 4), torch.randn(8, 1)
    for i in range(4):
        pred = model(x)
        # scale's grad is 1000 in every place: finite, with a norm of 1e5
        loss = nn.functional.mse_loss(pred, y) + scale.float().sum() * 1000.0
        loss.backward()
        opt.step()
        opt.zero_grad()
    print("finished", flush=True)
    """
)


@pytest.fixture
def run(run_loopstep, tmp_path):
    """``loopstep run --no-tui --format jsonl ARGS`` on the float16 script."""
    script = tmp_path / "half.py"
    script.write_text(SCRIPT)
    return lambda *args: run_loopstep("run", "--no-tui", "--format", "jsonl", *args, str(script))


@pytest.mark.parametrize(
    "conditions",
    [["--break", "nan"], ["--break", "nan", "--break", "iteration=1000"]],
    ids=["asleep", "awake"],
)
def test_finite_float16_values_with_an_overflowing_norm_are_no_nan(run, conditions):
    done = run(*conditions)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "" and "finished" in done.stderr


def test_a_grad_norm_condition_sees_the_float16_grads_true_norm(run):
    under = run("--break", "grad_norm[params.scale]>2e5")
    assert under.returncode == 0, under.stdout + under.stderr
    over = run("--break", "grad_norm[params.scale]>5e4")
    assert over.returncode == 3, over.stdout + over.stderr
    [stop] = [json.loads(line) for line in over.stdout.splitlines()]
    assert (stop["phase"], stop["iteration"]) == ("backward", 0)  # the first backward
    assert stop["grads"]["params.scale"]["norm"] == pytest.approx(1e5, rel=1e-4)


def test_all_finite_judges_values_not_norms():
    huge_half = torch.full((1000,), 3000.0, dtype=torch.float16)  # norm 94868: Inf in float16
    huge_single = torch.full((3,), 1e20)  # squares past float32's range
    assert all_finite([huge_half, huge_single, torch.ones(2, dtype=torch.float64)])
    assert not all_finite([huge_half, torch.tensor([0.0, float("nan")], dtype=torch.bfloat16)])
    assert not all_finite([torch.tensor([1.0, float("-inf")])])
    assert all_finite([])
    # Small CPU tensors are judged through NumPy views, others by their norms: both kinds,
    # a parameter and a non-contiguous tensor among them, and a NaN in each place.
    param = torch.nn.Parameter(torch.ones(3, 4))
    kinds = [param, torch.ones(5000), torch.ones(4, 6).t(), torch.ones(6, dtype=torch.float16)]
    assert all_finite(kinds)
    for i in range(len(kinds)):
        spoiled = [t.detach().clone() for t in kinds]
        spoiled[i][(1,) * spoiled[i].dim()] = float("nan")  # a clone keeps the transpose's strides
        assert not all_finite(spoiled), i
    assert fused_norms([huge_half])[0] == pytest.approx(3000.0 * 1000**0.5, rel=1e-4)
