"""A CUDA training script with mixed precision under ``loopstep run``: same numbers as plainly."""

import json
import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

SCRIPT = """
    import json, os, sys
    import torch
    from torch import nn

    torch.manual_seed(0)
    device = "cuda"
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 4)).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cuda")
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(256, 32, device=device)
    y = torch.randint(0, 4, (256,), device=device)
    losses = []
    for i in range(8):
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.float16):
            loss = loss_fn(model(x[i * 32 : i * 32 + 32]), y[i * 32 : i * 32 + 32])
        losses.append(loss.item())
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as handle:
            json.dump(losses, handle)
"""


def test_cuda_amp_script_matches_plain_run(tmp_path, loopstep_env):
    script = tmp_path / "cuda_train.py"
    script.write_text(textwrap.dedent(SCRIPT))
    plain = tmp_path / "plain.json"
    subprocess.run([sys.executable, str(script), str(plain)], check=True, env=loopstep_env, timeout=300)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "loopstep",
            "run",
            "--no-tui",
            "--format",
            "jsonl",
            "--iterations",
            "5",
            str(script),
        ],
        capture_output=True,
        text=True,
        env=loopstep_env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]
    phases = [e["phase"] for e in events]
    # GradScaler skips a step when the scaled grads overflow: that micro-batch shows no step.
    assert phases[:4] == ["zero_grad", "forward", "loss", "backward"] and "step" in phases
    losses = [e["loss"] for e in events if e["phase"] == "loss"]
    assert losses == pytest.approx(json.loads(plain.read_text())[: len(losses)], rel=1e-3)
