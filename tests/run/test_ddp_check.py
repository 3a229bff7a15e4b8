"""``loopstep check`` under torchrun (gloo, 2 ranks on CPU): a correct DDP script is clean,
and the two classic data mistakes of DDP are found at the line of the pass over the loader,
in one report from rank 0."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "scripts" / "ddp" / "ddp_train.py"
LOOP_LINE = f"{SCRIPT}:{next(i for i, line in enumerate(SCRIPT.read_text().splitlines(), 1) if 'for xb, yb in loader' in line)}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={free_port()}",
         "-m", "loopstep", *args],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("mode", "expected", "status"),
    [("correct", None, 0), ("no-sampler", "ddp-same-batches", 1), ("no-set-epoch", "ddp-sampler-epoch", 0)],
)
def test_check_under_torchrun_finds_the_classic_ddp_data_mistakes(mode, expected, status):
    done = torchrun("check", "--format", "jsonl", str(SCRIPT), mode)
    assert done.returncode == status, done.stderr[-3000:]
    findings = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    # One report: rank 0's (each rank checks its own run; its exit status says what it found).
    assert [f["id"] for f in findings] == ([expected] if expected else []), done.stdout
    if expected:
        assert findings[0]["location"] == LOOP_LINE
    if expected == "ddp-sampler-epoch":
        assert findings[0]["iteration"] == 8  # the second epoch's first iteration (8 batches a rank)


def test_the_ddp_checks_say_nothing_of_a_single_process_run(tmp_path):
    """One process, no torchrun: a DataLoader without a DistributedSampler is no mistake."""
    script = tmp_path / "single.py"
    script.write_text(SCRIPT.read_text().replace('dist.init_process_group("gloo")', "").replace(
        "rank = dist.get_rank()", "rank = 0").replace("dist.destroy_process_group()", "").replace(
        "model = DistributedDataParallel(", "model = (")
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "loopstep", "check", "--format", "jsonl", str(script), "no-sampler"],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == ""
