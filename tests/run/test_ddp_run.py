"""``loopstep run`` under torchrun (gloo, 2 ranks on CPU): one stream on the terminal, rank 0's,
whose records say their rank and the world size; ``--iterations`` ends every rank cleanly;
in the app, rank 0 owns the terminal and the other rank runs headless, attachable."""

from __future__ import annotations

import json
import shutil

import pytest
from tests.remote.test_listen_attach import runs_listed, wait_until
from tests.run.test_ddp_check import SCRIPT, free_port, torchrun
from tests.terminal import Tmux


def test_the_text_stream_of_a_ddp_job_is_rank_0s_and_every_rank_ends_at_the_iteration_limit():
    done = torchrun("run", "--no-tui", "--format", "jsonl", "--iterations", "3", str(SCRIPT), "correct")
    assert done.returncode == 0, done.stderr[-3000:]  # torchrun's own status: every rank exited 0
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert {(r["rank"], r["world_size"]) for r in records} == {(0, 2)}
    assert sorted({r["iteration"] for r in records}) == [0, 1, 2]
    steps = [r for r in records if r["phase"] == "step"]
    assert len(steps) == 3 and all(r["loss"] > 0 for r in steps)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_in_the_app_rank_0_owns_the_terminal_and_rank_1_runs_headless(runs_home):
    launch = (
        "--nproc_per_node=2",
        f"--master_port={free_port()}",
        "-m",
        "loopstep",
        "run",
        str(SCRIPT),
        "correct",
    )
    app = Tmux(120, 40, launch, module="torch.distributed.run")
    try:
        app.wait_for(r"ddp_train\.py · rank 0/2")
        [other] = wait_until(runs_listed, "rank 1 to listen")
        assert other["script"].endswith("(rank 1)") and other["state"] == "running"
        app.keys("c")
        shown = app.wait_for(r"finished: 24 iterations ran")  # 256 samples / 2 ranks / 16 a batch × 3 epochs
        assert "rank 0/2" in shown
        wait_until(lambda: runs_listed() == [], "rank 1 to end")
    finally:
        app.close()


def test_nproc_starts_torchs_launcher_with_the_same_command_line():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "loopstep", "run", "--nproc", "2", "--no-tui", "--format", "jsonl",
         "--iterations", "2", str(SCRIPT), "correct"],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert {(r["rank"], r["world_size"]) for r in records} == {(0, 2)}
    assert sorted({r["iteration"] for r in records}) == [0, 1]
