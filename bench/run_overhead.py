"""How much slower a training script runs under ``loopstep run --no-tui``: in continue mode,
with ``--break nan`` (against torch's anomaly mode, what users reach for instead), and printing
the stream of every phase (text and JSONL, to a file).

The same script runs plainly and under loopstep, alternated, the same number of times
each; the script times its own training loop in CPU time of its process (so the
interpreter and torch start-up, equal on both sides, do not dilute the ratio, and other
work on a shared machine disturbs it less). Prints the ratio of the best runs for a
tiny MLP and for a ~10M-parameter MLP. loopstep runs the script in a worker thread,
which alone changes its speed (the memory allocator serves a worker thread from another
arena), so the script also runs plainly in a worker thread, and that ratio is printed too.

    python bench/run_overhead.py [--repeats N] [--modes continue,nan,anomaly,text,jsonl]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The ratio each mode should stay under, per model size (anomaly mode: none, it is the rival).
TARGETS = {
    "continue": {"tiny": 1.05, "10M": 1.02},
    "nan": {"tiny": 1.3, "10M": 1.03},
    "text": {"tiny": 2.0, "10M": 1.1},
    "jsonl": {"tiny": 2.0, "10M": 1.1},
}
#: What each mode adds to ``loopstep run --no-tui``.
MODES = {
    "continue": ["--continue"],
    "nan": ["--continue", "--break", "nan"],
    "text": [],
    "jsonl": ["--format", "jsonl"],
}

SCRIPT = """
import sys, time
import torch
from torch import nn

size, iterations, out, device = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
torch.manual_seed(0)
torch.set_num_threads(1)
on_gpu = device != "cpu"
if len(sys.argv) > 5 and sys.argv[5] == "anomaly":
    torch.autograd.set_detect_anomaly(True)
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
    """``how``: plain, threaded, anomaly (plain, torch's anomaly mode on) or a loopstep MODE."""
    out = folder / "elapsed.txt"
    args = [str(script), size, str(iterations), str(out), device]
    if how in MODES:
        command = [sys.executable, "-m", "loopstep", "run", "--no-tui", *MODES[how], *args]
    elif how == "threaded":
        command = [sys.executable, "-c", THREADED, *args]
    else:
        command = [sys.executable, *args, *(["anomaly"] if how == "anomaly" else [])]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT / "src"), env.get("PYTHONPATH", "")] if p)
    with open(folder / "stream.out", "w") as stream:  # a stream goes to a file, as `> run.log` would
        subprocess.run(command, check=True, env=env, stdout=stream, stderr=subprocess.DEVNULL)
    return float(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument(
        "--modes",
        default="continue",
        help=f"comma-separated, of: {', '.join(MODES)}, anomaly (default continue)",
    )
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES and m != "anomaly"]
    if unknown:
        parser.error(f"unknown mode {unknown[0]!r}: choose from {', '.join(MODES)}, anomaly")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        script = folder / "train.py"
        script.write_text(SCRIPT)
        sizes = (("tiny", 3000), ("10M", 40)) if args.device == "cpu" else (("tiny", 3000), ("10M", 1000))
        print(f"device: {args.device}", flush=True)
        for size, iterations in sizes:
            times: dict[str, list[float]] = {how: [] for how in ("plain", "threaded", *modes)}
            for _ in range(args.repeats):  # alternated, so drift hits every variant alike
                for how, seen in times.items():
                    seen.append(run_once(script, size, iterations, how, folder, args.device))
            best = {how: min(seen) for how, seen in times.items()}
            print(
                f"{size:>5} model, {iterations} iterations, best of {args.repeats}: plain {best['plain']:.3f} s, "
                f"plain in a worker thread {best['threaded']:.3f} s",
                flush=True,
            )
            for mode in modes:
                target = TARGETS.get(mode, {}).get(size)
                aim = f" (target <= {target})" if target else " (torch's own, for comparison)"
                print(
                    f"      {mode:>8}: {best[mode]:.3f} s, ratio {best[mode] / best['plain']:.3f}{aim}, "
                    f"{best[mode] / best['threaded']:.3f} against the threaded run",
                    flush=True,
                )


if __name__ == "__main__":
    main()
