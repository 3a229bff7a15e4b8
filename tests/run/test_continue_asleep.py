"""``loopstep run --no-tui --continue`` prints only the run's end, so the script runs asleep
(its module hooks off: the bare loop's speed) and reports its last training phase when it
ends. That record is the one an awake run gives for the same phase, field for field (loss,
lr, mode, every parameter and .grad, their passes, the line), on scripts shaped like real
trainers: a GAN, nanoGPT's accumulation, LBFGS's closure, a scheduler, DataLoaders."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

FOLDER = Path(__file__).resolve().parents[1] / "scripts"
SCRIPTS = ["gan", "gpt_accum", "lbfgs_closure", "model_zero_grad", "plain_loop", "prefetch_loader"]
TIMEOUT_S = 240


def _start(*args: str, cwd: Path = FOLDER) -> subprocess.Popen:
    command = [sys.executable, "-m", "loopstep", "run", "--no-tui", "--format", "jsonl", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)


def _records(run: subprocess.Popen) -> list[dict]:
    out, err = run.communicate(timeout=TIMEOUT_S)
    assert run.returncode == 0, err
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_the_end_of_a_run_asleep_is_the_awake_runs_record_of_that_phase():
    runs = {
        name: (_start("--continue", str(FOLDER / f"{name}.py")), _start(str(FOLDER / f"{name}.py")))
        for name in SCRIPTS
    }
    for name, (asleep_run, awake_run) in runs.items():
        [end] = _records(asleep_run)
        awake = _records(awake_run)
        assert end["phase"] in ("step", "zero_grad"), name  # the last training phase
        assert end["iteration"] == awake[-1]["iteration"], name
        same = [r for r in awake if (r["phase"], r["iteration"]) == (end["phase"], end["iteration"])]
        assert same and end == same[-1], name


COUNTED = """
    import sys
    import torch
    from torch import nn
    from torch.nn.modules import module as module_api

    by_hand = sys.argv[2] == "by-hand"
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = None if by_hand else torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    with open(sys.argv[1], "w") as log:
        for i in range(30):
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            if opt is None:
                with torch.no_grad():
                    for p in model.parameters():
                        p -= 0.05 * p.grad
                        p.grad = None
            else:
                opt.step()
                opt.zero_grad()
            log.write(f"{len(module_api._global_forward_hooks)}\\n")  # loopstep's hooks on now
"""


def test_a_continued_run_takes_its_hooks_off_but_where_its_end_would_go_unseen(tmp_path):
    """Asleep from the second iteration on; a script without an optimizer stays awake, as
    nothing would see its last update by hand."""
    script = tmp_path / "counted.py"
    script.write_text(textwrap.dedent(COUNTED))
    logs = {shape: tmp_path / f"{shape}.log" for shape in ("optimizer", "by-hand")}
    runs = {
        shape: _start("--continue", str(script), str(log), shape, cwd=tmp_path) for shape, log in logs.items()
    }
    ends = {shape: _records(run) for shape, run in runs.items()}
    hooks = {shape: [int(n) for n in log.read_text().split()] for shape, log in logs.items()}
    assert hooks["optimizer"][0] > 0 and hooks["optimizer"][1:] == [0] * 29
    assert all(n > 0 for n in hooks["by-hand"]) and len(hooks["by-hand"]) == 30
    assert [e["iteration"] for e in ends["optimizer"]] == [29]
    assert [(e["phase"], e["iteration"]) for e in ends["by-hand"]] == [("update", 29)]
