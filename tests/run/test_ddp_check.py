"""``loopstep check`` under torchrun (gloo, 2 ranks on CPU): a correct DDP script is clean (a
hand-sharded one too), and each classic DDP mistake planted in it is found, at its line, in
one report from rank 0: the data ones from each rank's DataLoaders, the others by comparing
the ranks' fingerprints (uneven batches, unsynced gradients, diverged parameters)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.ports import free_port

SCRIPT = Path(__file__).parents[1] / "scripts" / "ddp" / "ddp_train.py"


def torchrun(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={free_port()}",
         "-m", "loopstep", *args],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip


def line_of(text: str) -> str:
    return f"{SCRIPT}:{next(i for i, line in enumerate(SCRIPT.read_text().splitlines(), 1) if text in line)}"


@pytest.mark.parametrize(
    ("mode", "expected", "status", "where", "iteration"),
    [
        ("correct", None, 0, None, None),
        ("hand-sharded", None, 0, None, None),  # each rank its own slice: no DistributedSampler needed
        ("no-sampler", "ddp-same-batches", 1, "in enumerate(loader)", 0),
        ("no-set-epoch", "ddp-sampler-epoch", 0, "in enumerate(loader)", 8),  # the second epoch's first
        ("uneven", "ddp-uneven-batches", 1, "loss = loss_fn(model(xb), yb)", 0),
        ("no-sync", "ddp-grad-not-synced", 1, "optimizer.step()", 0),
        ("rank-lr", "ddp-params-diverged", 1, "optimizer.step()", 0),
        ("unused-head", "ddp-unused-params", 0, "loss.backward()  # DDP", 2),  # the third backward
        # rank 1's NaN, all-reduced: NaN on both ranks is no unsynced gradient
        ("rank1-nan", "nonfinite", 1, "loss.backward()  # DDP", 5),
    ],
)
def test_check_under_torchrun_finds_the_classic_ddp_mistakes(mode, expected, status, where, iteration):
    done = torchrun("check", "--format", "jsonl", str(SCRIPT), mode)
    assert done.returncode == status, done.stderr[-3000:]
    findings = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    # One report, from rank 0: its own findings and what it found comparing the ranks.
    assert [f["id"] for f in findings] == ([expected] if expected else []), done.stdout
    if expected:
        assert (findings[0]["location"], findings[0]["iteration"]) == (line_of(where), iteration)
    if expected == "ddp-unused-params":
        assert "module.aux_head.weight, module.aux_head.bias got no gradient" in findings[0]["message"]
    if expected == "ddp-uneven-batches":  # 129 samples on rank 0, 128 on rank 1, 16 a batch
        assert "(rank 0: 9, rank 1: 8)" in findings[0]["message"]


def test_the_ddp_checks_say_nothing_of_a_single_process_run(tmp_path):
    """One process, no torchrun: a DataLoader without a DistributedSampler is no mistake."""
    script = tmp_path / "single.py"
    script.write_text(SCRIPT.read_text().replace('dist.init_process_group("gloo")', "").replace(
        "rank, world = dist.get_rank(), dist.get_world_size()", "rank, world = 0, 1").replace("dist.destroy_process_group()", "").replace(
        "DistributedDataParallel(TwoHeads(), find_unused_parameters=True)", "TwoHeads()").replace(
        "model = DistributedDataParallel(", "model = (")
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "loopstep", "check", "--format", "jsonl", str(script), "no-sampler"],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == ""
