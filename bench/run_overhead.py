"""How much slower a training script runs under ``loopstep run --no-tui --continue``.

The same script runs plainly and under loopstep, alternated, the same number of times
each; the script times its own training loop in CPU time of its process (so the
interpreter and torch start-up, equal on both sides, do not dilute the ratio, and other
work on a shared machine disturbs it less). Prints the ratio of the best runs for a
tiny MLP and for a ~10M-parameter MLP.

    python bench/run_overhead.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"tiny": 1.25, "10M": 1.10}

SCRIPT = """
import sys, time
import torch
from torch import nn

size, iterations, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.manual_seed(0)
torch.set_num_threads(1)
if size == "tiny":
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
    x, y = torch.randn(32, 16), torch.randn(32, 1)
else:
    model = nn.Sequential(
        nn.Linear(1024, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(),
        nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 512),
    )
    x, y = torch.randn(32, 1024), torch.randn(32, 512)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.MSELoss()

def train(n):
    for _ in range(n):
        pred = model(x)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

train(3)  # warm-up
start = time.process_time()
train(iterations)
elapsed = time.process_time() - start
with open(out, "w") as handle:
    handle.write(repr(elapsed))
"""


def run_once(script: Path, size: str, iterations: int, under_loopstep: bool, folder: Path) -> float:
    out = folder / "elapsed.txt"
    args = [str(script), size, str(iterations), str(out)]
    if under_loopstep:
        command = [sys.executable, "-m", "loopstep", "run", "--no-tui", "--continue", *args]
    else:
        command = [sys.executable, *args]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT / "src"), env.get("PYTHONPATH", "")] if p)
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return float(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        script = folder / "train.py"
        script.write_text(SCRIPT)
        for size, iterations in (("tiny", 3000), ("10M", 40)):
            plain, hooked = [], []
            for _ in range(args.repeats):  # alternated, so drift hits both sides alike
                plain.append(run_once(script, size, iterations, False, folder))
                hooked.append(run_once(script, size, iterations, True, folder))
            ratio = min(hooked) / min(plain)
            print(
                f"{size:>5} model, {iterations} iterations: plain {min(plain):.3f} s, "
                f"loopstep run {min(hooked):.3f} s (best of {args.repeats} each), "
                f"ratio {ratio:.3f} (target <= {TARGETS[size]})",
                flush=True,
            )


if __name__ == "__main__":
    main()
