"""A text stream with only ``--break nan`` sleeps between stops. Where the NaN first shows
in the loss, its stop is the very record an awake run prints: the same batch numbers (no
DataLoader counts them: the sentinels do), the loss function's line and result (not the
``/ 2`` backpropagated), the parameters and the reason."""

from __future__ import annotations

import json
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.MSELoss()
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    for epoch in range(2):
        for it in range(6):
            target = y.clone()
            if (epoch, it) == (1, 2):
                target[3] = float("nan")  # a bad label: the input and every activation are finite
            pred = model(x)
            loss = LOSS
            (loss / 2).backward()
            opt.step()
            opt.zero_grad()
    """
)


def stop_record(run_loopstep, tmp_path, loss: str, *conditions: str) -> dict:
    script = tmp_path / "bad_label.py"
    script.write_text(SCRIPT.replace("LOSS", loss))
    done = run_loopstep("run", "--no-tui", "--format", "jsonl", *conditions, str(script))
    assert done.returncode == 3, done.stdout + done.stderr
    [record] = [json.loads(line) for line in done.stdout.splitlines()]
    return record


@pytest.mark.parametrize(
    ("loss", "label"),
    [("nn.functional.mse_loss(pred, target)", "F.mse_loss"), ("loss_fn(pred, target)", "MSELoss")],
)
def test_a_nan_seen_asleep_at_the_loss_is_the_awake_runs_stop(run_loopstep, tmp_path, loss, label):
    asleep = stop_record(run_loopstep, tmp_path, loss, "--break", "nan")
    # Another condition needs every phase: the run stays awake, every module watched.
    awake = stop_record(run_loopstep, tmp_path, loss, "--break", "nan", "--break", "iteration=100000")
    assert (asleep["phase"], asleep["epoch"], asleep["batch"], asleep["iteration"]) == ("loss", 1, 2, 8)
    assert asleep["reason"] == "break: loss is nan"
    assert asleep["location"].endswith("bad_label.py:16")  # the loss line, not the backward's
    assert asleep["detail"] == f"loss ({label})"
    assert asleep == awake
