"""How much slower a training script runs under ``loopstep run --no-tui --continue``.

The same script runs plainly and under loopstep, alternated, the same number of times
each; the script times its own training loop in CPU time of its process (so the
interpreter and torch start-up, equal on both sides, do not dilute the ratio, and other
work on a shared machine disturbs it less). Prints the ratio of the best runs for a
tiny MLP and for a ~10M-parameter MLP. loopstep runs the script in a worker thread,
which alone changes its speed (the memory allocator serves a worker thread from another
arena), so the script also runs plainly in a worker thread, and that ratio is printed too.

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

size, iterations, out, device = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
torch.manual_seed(0)
torch.set_num_threads(1)
on_gpu = device != "cpu"
if size == "tiny":
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
    x, y = torch.randn(32, 16), torch.randn(32, 1)
else:
    model = nn.Sequential(
        nn.Linear(1024, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(),
        nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 512),
    )
    x, y = torch.randn(32, 1024), torch.randn(32, 512)
model, x, y = model.to(device), x.to(device), y.to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.MSELoss()

def train(n):
    for _ in range(n):
        pred = model(x)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

# CPU time of the process on a (possibly shared) CPU; wall time on a GPU, after a sync.
clock = time.perf_counter if on_gpu else time.process_time
train(3)  # warm-up
if on_gpu:
    torch.cuda.synchronize()
start = clock()
train(iterations)
if on_gpu:
    torch.cuda.synchronize()
elapsed = clock() - start
with open(out, "w") as handle:
    handle.write(repr(elapsed))
"""


#: Runs a script in a worker thread, as loopstep does, without loopstep.
THREADED = (
    "import runpy, sys, threading; sys.argv = sys.argv[1:]; "
    "t = threading.Thread(target=runpy.run_path, args=(sys.argv[0],), kwargs={'run_name': '__main__'}); "
    "t.start(); t.join()"
)


def run_once(script: Path, size: str, iterations: int, how: str, folder: Path, device: str) -> float:
    out = folder / "elapsed.txt"
    args = [str(script), size, str(iterations), str(out), device]
    if how == "loopstep":
        command = [sys.executable, "-m", "loopstep", "run", "--no-tui", "--continue", *args]
    elif how == "threaded":
        command = [sys.executable, "-c", THREADED, *args]
    else:
        command = [sys.executable, *args]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT / "src"), env.get("PYTHONPATH", "")] if p)
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return float(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        script = folder / "train.py"
        script.write_text(SCRIPT)
        sizes = (("tiny", 3000), ("10M", 40)) if args.device == "cpu" else (("tiny", 3000), ("10M", 1000))
        print(f"device: {args.device}", flush=True)
        for size, iterations in sizes:
            times: dict[str, list[float]] = {"plain": [], "threaded": [], "loopstep": []}
            for _ in range(args.repeats):  # alternated, so drift hits every variant alike
                for how, seen in times.items():
                    seen.append(run_once(script, size, iterations, how, folder, args.device))
            best = {how: min(seen) for how, seen in times.items()}
            print(
                f"{size:>5} model, {iterations} iterations, best of {args.repeats}: plain {best['plain']:.3f} s, "
                f"plain in a worker thread {best['threaded']:.3f} s, loopstep run {best['loopstep']:.3f} s; "
                f"ratio {best['loopstep'] / best['plain']:.3f} (target <= {TARGETS[size]}), "
                f"{best['loopstep'] / best['threaded']:.3f} against the threaded run",
                flush=True,
            )


if __name__ == "__main__":
    main()
