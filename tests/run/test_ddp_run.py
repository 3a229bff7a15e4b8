"""``loopstep run`` under torchrun (gloo, 2 ranks on CPU): every rank pauses at the same phase
as rank 0, which owns the terminal; the text stream merges both ranks' records, phase by
phase; a stop condition on rank 0 pauses the job where it fired; quitting ends every rank."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager

import pytest
from tests.ports import free_port
from tests.remote.test_listen_attach import runs_listed, wait_until
from tests.run.test_ddp_check import SCRIPT, torchrun
from tests.terminal import Tmux


def records_of(done: subprocess.CompletedProcess) -> list[dict]:
    assert done.returncode == 0, done.stderr[-3000:]  # torchrun's own status: every rank exited 0
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_the_stream_of_a_ddp_job_has_both_ranks_in_step_phase_by_phase():
    records = records_of(
        torchrun("run", "--no-tui", "--format", "jsonl", "--iterations", "3", str(SCRIPT), "correct")
    )
    ranks = [r["rank"] for r in records]
    assert ranks == [0, 1] * (len(records) // 2) and {r["world_size"] for r in records} == {2}
    where = [(r["phase"], r["epoch"], r["iteration"]) for r in records]
    assert where[0::2] == where[1::2]  # rank 1 at rank 0's phase, every time
    assert sorted({r["iteration"] for r in records}) == [0, 1, 2]
    steps = [r for r in records if r["phase"] == "step"]
    for zero, one in zip(steps[0::2], steps[1::2]):
        assert zero["loss"] != one["loss"]  # each rank's own shard of the batch
        assert zero["params"] == one["params"]  # and DDP keeps their parameters equal: in step


def test_a_stop_condition_on_rank_0_pauses_the_other_rank_at_the_same_phase():
    records = records_of(
        torchrun("run", "--no-tui", "--format", "jsonl", "--break", "iteration=3", "--on-stop", "continue",
                 str(SCRIPT), "correct")
    )  # fmt: skip
    assert [(r["rank"], r["phase"], r["iteration"]) for r in records] == [
        (0, "forward", 3),
        (1, "forward", 3),
    ]
    assert records[0]["reason"] == "break: iteration=3"


def test_each_rank_records_to_a_file_of_its_own_and_replays_its_own_phases(tmp_path):
    path = tmp_path / "run.lsr"
    records = records_of(
        torchrun("run", "--no-tui", "--format", "jsonl", "--iterations", "2", "--record", str(path),
                 str(SCRIPT), "correct")
    )  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.lsr", "run.rank1.lsr"]
    for rank, recording in ((0, path), (1, tmp_path / "run.rank1.lsr")):
        replayed = subprocess.run(
            [sys.executable, "-m", "loopstep", "replay", "--no-tui", "--format", "jsonl", str(recording)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        phases = [json.loads(line) for line in replayed.stdout.splitlines() if line.startswith("{")]
        # run.lsr replays the job (rank 1's file found beside it); run.rank1.lsr rank 1 alone
        phases = [r for r in phases if r.get("rank", rank) == rank]
        live = [r for r in records if r["rank"] == rank]
        assert [(r["phase"], r["iteration"], r["loss"]) for r in phases if r["phase"] != "start"] == [
            (r["phase"], r["iteration"], r["loss"]) for r in live
        ]


def test_a_stop_condition_on_another_rank_pauses_every_rank_at_the_phase_it_fired():
    """Rank 1 alone reads a NaN: its own --break nan stops the job at its phase (not later, at
    the backward where the all-reduce would carry the NaN to rank 0), rank 0 in step there."""
    records = records_of(
        torchrun("run", "--no-tui", "--format", "jsonl", "--break", "nan", "--on-stop", "continue",
                 str(SCRIPT), "rank1-nan")
    )  # fmt: skip
    stop = [(r["rank"], r["phase"], r["iteration"]) for r in records[:4]]
    assert stop == [(0, "forward", 5), (1, "forward", 5), (0, "loss", 5), (1, "loss", 5)]
    assert records[0]["reason"] == "rank 1: break: NaN/Inf in the input batch"
    assert records[2]["reason"] == "rank 1: break: loss is nan"
    assert math.isfinite(records[2]["loss"]) and records[3]["loss"] == "nan"  # rank 0 has no NaN


def test_the_text_stream_of_a_job_leads_with_the_rank_and_marks_a_stop_under_every_rank():
    done = torchrun("run", "--no-tui", "--break", "nan", "--on-stop", "stop", str(SCRIPT), "rank1-nan")
    assert done.returncode == 1, done.stderr[-2000:]  # torchrun's: rank 0 stopped (3)
    lines = done.stdout.splitlines()
    assert lines[0].split()[:5] == ["rank", "epoch", "batch", "iter", "phase"]
    assert [line.split()[:5] for line in lines[1:3]] == [
        ["0", "0", "5", "5", "forward"],
        ["1", "0", "5", "5", "forward"],
    ]
    assert lines[3] == "  ^ rank 1: break: NaN/Inf in the input batch"


def test_nproc_starts_torchs_launcher_with_the_same_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "loopstep", "run", "--nproc", "2", "--no-tui", "--format", "jsonl",
         "--iterations", "2", str(SCRIPT), "correct"],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    records = records_of(done)
    assert {(r["rank"], r["world_size"]) for r in records} == {(0, 2), (1, 2)}
    assert sorted({r["iteration"] for r in records}) == [0, 1]


def job_processes(port: int) -> list[int]:
    """The launcher of the job on ``port`` and its ranks (by their MASTER_PORT)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read()
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
        except OSError:
            continue
        if f"--master_port={port}".encode() in command or f"MASTER_PORT={port}".encode() in environ:
            found.append(int(entry))
    return found


@contextmanager
def ddp_app(runs_home, port: int | None = None, mode: str = "correct"):
    """The app of a 2-rank job in tmux, at rank 0's start pause."""
    launch = (
        "--nproc_per_node=2",
        f"--master_port={port or free_port()}",
        "-m",
        "loopstep",
        "run",
        str(SCRIPT),
        mode,
    )
    app = Tmux(120, 40, launch, module="torch.distributed.run")
    try:
        app.wait_for(r"ddp_train\.py · rank 0/2")
        yield app
    finally:
        app.close()


needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@needs_tmux
def test_in_the_app_rank_1_steps_with_rank_0_and_quitting_ends_every_rank(runs_home):
    with ddp_app(runs_home) as app:
        [other] = wait_until(runs_listed, "rank 1 to listen")
        assert other["script"].endswith("(rank 1)")
        for phase in ("zero_grad", "forward", "loss", "backward"):
            app.keys("s")
            app.wait_for(rf"iter 0 · after {phase}")
            [other] = runs_listed()
            assert other["state"] == f"paused at {phase} iter 0"  # in step with rank 0
        app.keys("q")
        wait_until(lambda: runs_listed() == [], "rank 1 to end with rank 0")


@needs_tmux
def test_R_shows_the_other_ranks_pause_with_its_own_numbers(runs_home):
    """Every pane draws rank 1's snapshot at the same pause: its own loss (its own shard of the
    batch), the same all-reduced gradients; the keys that step still move both ranks."""
    records = records_of(
        torchrun("run", "--no-tui", "--format", "jsonl", "--iterations", "1", str(SCRIPT), "correct")
    )
    loss = {r["rank"]: r["loss"] for r in records if r["phase"] == "loss"}
    grad = {r["rank"]: r["grads"]["module.2.bias"]["norm"] for r in records if r["phase"] == "backward"}
    assert loss[0] != loss[1] and grad[0] == grad[1]
    with ddp_app(runs_home) as app:
        app.keys("w")  # a watch added in the app: every rank evaluates it in its own frame
        app.wait_for(r"enter adds")
        app.keys("loss.item() * 2", "Enter")
        app.wait_for(r"▊ loss\.item\(\) \* 2")  # in the list
        app.keys("Escape")
        app.wait_for(r"watches: loss\.item\(\) \* 2")
        for phase in ("zero_grad", "forward", "loss"):
            app.keys("s")
            app.wait_for(rf"iter 0 · after {phase}")
        screen = app.wait_for(rf"loss\.item\(\) \* 2 +{2 * loss[0]:.4g}")
        assert f"loss = {loss[0]:.4g}" in screen
        assert "rank 1" in screen  # the chart's legend: every rank's curve (the status says rank 0/2)
        app.keys("R")
        screen = app.wait_for(r"ddp_train\.py · rank 1/2")
        assert f"loss = {loss[1]:.4g}" in screen and f"loss = {loss[0]:.4g}" not in screen
        assert re.search(rf"loss\.item\(\) \* 2 +{2 * loss[1]:.4g}", screen)  # rank 1's own
        app.keys("s")  # both ranks step; the panes stay on rank 1
        screen = app.wait_for(r"rank 1/2 .*after backward")
        assert f"{grad[1]:.4g}" in screen  # module.2.bias's ‖.grad‖, all-reduced: rank 0's too
        [other] = runs_listed()
        assert other["state"] == "paused at backward iter 0"
        app.keys("R")
        app.wait_for(r"ddp_train\.py · rank 0/2 .*after backward")


@needs_tmux
def test_the_prompt_asks_the_rank_shown_and_ctrl_r_asks_every_rank(runs_home):
    """pdb's ``p`` on another rank: the prompt evaluates in the shown rank's own training frame
    (its ``rank`` is 1, its loss its own shard's), and ctrl+r asks both ranks at once."""
    records = records_of(
        torchrun("run", "--no-tui", "--format", "jsonl", "--iterations", "1", str(SCRIPT), "correct")
    )
    loss = {r["rank"]: round(r["loss"], 3) for r in records if r["phase"] == "loss"}
    with ddp_app(runs_home) as app:
        for phase in ("zero_grad", "forward", "loss"):
            app.keys("s")
            app.wait_for(rf"iter 0 · after {phase}")
        app.keys("R")
        app.wait_for(r"ddp_train\.py · rank 1/2")
        app.keys("!")
        app.wait_for(r"rank 1: main\(\) at .*ddp_train\.py:\d+")  # whose frame it reads
        app.keys("(rank, round(loss.item(), 3))", "Enter")
        app.wait_for(rf"\(1, {loss[1]}\)")
        app.keys("C-r")
        app.wait_for(r"on every rank: rank 1, rank 0")
        app.keys("(rank, round(loss.item(), 3))", "Enter")
        # Side by side, in one order whichever answered first: the rank shown, then the others.
        app.wait_for(rf"rank 1: \(1, {loss[1]}\)[\s┃]*rank 0: \(0, {loss[0]}\)")
        app.keys("Escape")
        app.wait_for(r"q  quit")  # the main screen's footer: closed (a key sent at once reads as alt+key)
        app.keys("s")  # the prompt's questions left both ranks where they were, in step
        app.wait_for(r"rank 1/2 .*after backward")
        [other] = runs_listed()
        assert other["state"] == "paused at backward iter 0"


def test_a_replay_of_the_jobs_recordings_steps_every_rank_in_step_as_the_live_job(tmp_path):
    """``loopstep replay run.lsr`` finds rank 1's ``run.rank1.lsr`` beside it: the stream is the
    live job's, line for line (both ranks, the rank column); each recording says its rank."""
    record = tmp_path / "run.lsr"
    live = torchrun("run", "--no-tui", "--iterations", "2", "--record", str(record), str(SCRIPT), "correct")
    assert live.returncode == 0, live.stderr[-3000:]
    replayed = subprocess.run(
        [sys.executable, "-m", "loopstep", "replay", "--no-tui", str(record)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr[-3000:]
    lines = [line for line in replayed.stdout.splitlines() if line.strip()]
    assert lines == [line for line in live.stdout.splitlines() if line.strip()]
    assert {line.split()[0] for line in lines[1:]} == {"0", "1"}
    from loopstep.engine.recording import read_recording

    headers = [read_recording(str(path)).header for path in (record, tmp_path / "run.rank1.lsr")]
    assert [(h["rank"], h["world_size"]) for h in headers] == [(0, 2), (1, 2)]


@needs_tmux
def test_the_replay_app_shows_each_ranks_recorded_numbers_and_steps_back_with_every_rank(tmp_path):
    record = tmp_path / "run.lsr"
    live = torchrun("run", "--no-tui", "--format", "jsonl", "--iterations", "2", "--record", str(record),
                    str(SCRIPT), "correct")  # fmt: skip
    loss = {(r["rank"], r["iteration"]): r["loss"] for r in records_of(live) if r["phase"] == "loss"}
    app = Tmux(120, 40, ("replay", str(record)))
    try:
        app.wait_for(r"replay · ddp_train\.py · rank 0/2")
        for _ in range(8):  # zero_grad, forward, loss, backward, step; iteration 1's to its loss
            app.keys("s")
            app.wait_for(r"paused")
        screen = app.wait_for(r"iter 1 · after loss")
        assert f"loss = {loss[0, 1]:.4g}" in screen
        app.keys("R")
        screen = app.wait_for(r"rank 1/2 .*iter 1 · after loss")
        assert f"loss = {loss[1, 1]:.4g}" in screen
        app.keys("u")  # step back: rank 1's replay goes back with rank 0's
        app.keys("u")
        app.keys("u")
        screen = app.wait_for(r"rank 1/2 .*iter 0 · after step")
        app.keys("u")
        app.keys("u")
        screen = app.wait_for(r"rank 1/2 .*iter 0 · after loss")
        assert f"loss = {loss[1, 0]:.4g}" in screen
        app.keys("R")
        screen = app.wait_for(r"rank 0/2 .*iter 0 · after loss")
        assert f"loss = {loss[0, 0]:.4g}" in screen
    finally:
        app.close()


@needs_tmux
def test_the_app_compares_the_ranks_at_a_step_and_says_when_their_parameters_differ(runs_home):
    """rank-lr: rank 1 steps with twice rank 0's lr. At the first step, the diagnostics pane
    says so, with the numbers ``loopstep check`` gives for the same job."""
    done = torchrun("check", "--format", "jsonl", str(SCRIPT), "rank-lr")
    [finding] = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    norms = re.search(r"total norm ([\d.]+) vs ([\d.]+)", finding["message"]).groups()
    with ddp_app(runs_home, mode="rank-lr") as app:
        for phase in ("zero_grad", "forward", "loss", "backward"):
            app.keys("s")
            app.wait_for(rf"iter 0 · after {phase}")
        assert "no findings so far" in app.screen()  # the gradients were all-reduced: they agree
        app.keys("s")
        screen = app.wait_for(r"ddp-params-diverged")
        assert "1 finding (1 error)" in screen
        assert norms[0] in screen and norms[1] in screen  # as check says: rank 0's and rank 1's


@needs_tmux
def test_the_app_shows_the_rank_whose_condition_stopped_the_job(runs_home):
    launch = ("--nproc_per_node=2", f"--master_port={free_port()}", "-m", "loopstep", "run",
              "--break", "nan", str(SCRIPT), "rank1-nan")  # fmt: skip
    app = Tmux(120, 40, launch, module="torch.distributed.run")
    try:
        app.wait_for(r"ddp_train\.py · rank 0/2")
        app.keys("c")
        app.wait_for(r"rank 1/2 .*iter 5 · after forward")  # shown: the rank that stopped it
        app.wait_for(r"rank 1: break: NaN/Inf in the input batch")  # and why
        app.keys("R")
        app.wait_for(r"rank 0/2 .*iter 5 · after forward")
    finally:
        app.close()


@needs_tmux
def test_killing_the_apps_terminal_leaves_no_rank_running(runs_home):
    port = free_port()
    with ddp_app(runs_home, port) as app:
        wait_until(runs_listed, "rank 1 to listen")
        app.keys("s")
        app.wait_for(r"after zero_grad")
        assert len(job_processes(port)) >= 3  # the launcher and its two ranks (and the terminal)
        app.close()  # the terminal goes, as when an SSH connection drops
        wait_until(lambda: job_processes(port) == [], "every process of the job to end")
        assert runs_listed() == []


@needs_tmux
def test_in_the_app_c_runs_the_job_to_its_end(runs_home):
    with ddp_app(runs_home) as app:
        app.keys("s")
        app.wait_for(r"after zero_grad")
        app.keys("c")
        app.wait_for(r"finished: 24 iterations ran")  # 256 samples / 2 ranks / 16 a batch × 3 epochs
        wait_until(lambda: runs_listed() == [], "rank 1 to end")


def test_rank_0_evaluating_alone_does_not_put_the_ranks_out_of_step():
    """Validate phases are not counted: rank 0's own evaluation after each epoch (8 iterations
    a rank) leaves the training phases in step, and nothing waits on it."""
    records = records_of(
        torchrun("run", "--no-tui", "--format", "jsonl", "--iterations", "12", str(SCRIPT), "rank0-eval")
    )
    pauses: list[list[dict]] = []  # rank 0's record, then the other rank's at that pause
    for record in records:
        if record["rank"] == 0:
            pauses.append([])
        pauses[-1].append(record)
    evaluations = [pause for pause in pauses if pause[0]["phase"] == "validate"]
    assert evaluations and all(len(pause) == 1 for pause in evaluations)  # rank 0's alone: rank 1 has none
    training = [pause for pause in pauses if pause[0]["phase"] != "validate"]
    assert all([r["rank"] for r in pause] == [0, 1] for pause in training)
    assert any(pause[0]["iteration"] >= 8 for pause in training)  # after the first evaluation
    for zero, one in training:
        assert (zero["phase"], zero["epoch"], zero["iteration"]) == (
            one["phase"],
            one["epoch"],
            one["iteration"],
        )


def two_machines(tmp_path, *args: str) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """A job of 2 machines × 2 ranks, the second machine with a runs directory of its own (as
    another machine has): torchrun's multi-node launch, both launchers here."""
    port = free_port()

    def launch(node: int, home) -> subprocess.Popen:
        home.mkdir(mode=0o700)
        return subprocess.Popen(
            [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", f"--node_rank={node}",
             "--nproc_per_node=2", "--master_addr=127.0.0.1", f"--master_port={port}",
             "-m", "loopstep", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "XDG_RUNTIME_DIR": str(home)},
        )  # fmt: skip

    launched = [launch(node, tmp_path / f"machine{node}") for node in (0, 1)]
    done = []
    for process in launched:
        out, err = process.communicate(timeout=240)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done[0], done[1]


def test_ranks_on_another_machine_run_on_and_rank_0_steps_the_ranks_beside_it(tmp_path):
    """Rank 0's front end steps the ranks of its own machine (found in its runs directory);
    the ranks on another machine run by themselves (listening runs there), and nothing waits
    for them: the job ends as a plain one would."""
    first, second = two_machines(
        tmp_path, "run", "--no-tui", "--format", "jsonl", "--iterations", "2", str(SCRIPT), "correct"
    )
    records = records_of(first)
    assert {(r["rank"], r["world_size"]) for r in records} == {(0, 4), (1, 4)}
    where = [(r["phase"], r["iteration"]) for r in records]
    assert where[0::2] == where[1::2] and sorted({i for _, i in where}) == [0, 1]
    assert second.returncode == 0, second.stderr[-3000:]
    for rank in (2, 3):
        assert f"rank {rank} runs on another machine than rank 0" in second.stderr
    assert "loopstep attach" in second.stderr  # reachable there
