"""Instructions the training loop of a tiny MLP executes per iteration, plainly and under
``loopstep run --no-tui`` (continue mode, ``--break nan``, the streams), counted by
valgrind's callgrind: the overhead of each mode as a ratio that does not move from run to
run.

``run_overhead.py`` times the same loop, but on a shared machine its CPU-time ratios move
by 10-30 % between runs, more than a change to the sentinels saves. Here each process
runs under callgrind with counting off; once the script has warmed up (3 iterations, the
run asleep by then) counting is turned on (``callgrind_control -i on``) for the measured
iterations only, so the interpreter's, torch's and loopstep's start-up are not in the
count. The count is of every thread of the process (loopstep's own included).

An instruction count is not time: loopstep's code runs cold between torch's kernels, and
its cache misses cost about as much again. It shows whether a change made the per-phase
work cheaper. Needs valgrind; about a minute per mode.

    python bench/run_instructions.py [--iterations 100] [--modes continue,nan,text,jsonl]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run_overhead import MODES, ROOT, THREADED

SCRIPT = """
import os, sys, time
import torch
from torch import nn

iterations, handshake = int(sys.argv[1]), sys.argv[2]
torch.manual_seed(0)
torch.set_num_threads(1)
model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
x, y = torch.randn(32, 16), torch.randn(32, 1)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.MSELoss()

def train(n):
    for _ in range(n):
        pred = model(x)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

def wait_for(name):
    while not os.path.exists(handshake + name):
        time.sleep(0.01)

train(3)  # warm-up: a continued run is asleep after its first step
open(handshake + "ready", "w").close()
wait_for("go")  # counting is on
train(iterations)
open(handshake + "done", "w").close()
wait_for("counted")
"""

#: How long a mode may take under valgrind before the bench gives up on it.
TIMEOUT_S = 900


def count(how: str, iterations: int, folder: Path) -> int:
    """Instructions of ``iterations`` training iterations run ``how`` (plain: in a worker
    thread, as loopstep runs a script; else a mode of :data:`MODES`)."""
    script = folder / "train.py"
    script.write_text(SCRIPT)
    handshake = str(folder / f"{how}.")
    out = folder / f"callgrind.{how}"
    args = [str(script), str(iterations), handshake]
    if how == "plain":
        python = [sys.executable, "-c", THREADED, *args]
    else:
        python = [sys.executable, "-m", "loopstep", "run", "--no-tui", *MODES[how], *args]
    env = dict(os.environ, PYTHONHASHSEED="0")
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT / "src"), env.get("PYTHONPATH", "")] if p)
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", *python]
    with open(folder / f"{how}.stream", "w") as stream:
        proc = subprocess.Popen(command, stdout=stream, stderr=subprocess.DEVNULL, env=env)
    try:
        _wait_for(Path(handshake + "ready"), proc)
        _control("-i", "on", proc.pid)
        Path(handshake + "go").touch()
        _wait_for(Path(handshake + "done"), proc)
        _control("-i", "off", proc.pid)
        _control("-d", proc.pid)
        Path(handshake + "counted").touch()
        proc.wait(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    totals = [
        int(found.group(1))
        for dump in folder.glob(f"callgrind.{how}.*")
        if (found := re.search(r"^totals: (\d+)", dump.read_text(errors="replace"), re.M))
    ]
    if proc.returncode or not totals:
        raise SystemExit(f"{how}: callgrind gave no count (exit status {proc.returncode})")
    return sum(totals)


def _wait_for(path: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not path.exists():
        if proc.poll() is not None:
            raise SystemExit(f"the script ended before {path.name} (exit status {proc.returncode})")
        if time.monotonic() > deadline:
            raise SystemExit(f"no {path.name} after {TIMEOUT_S} s")
        time.sleep(0.01)


def _control(*args: object) -> None:
    subprocess.run(["callgrind_control", *map(str, args)], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument(
        "--modes", default="continue,nan,text,jsonl", help=f"comma-separated, of: {', '.join(MODES)}"
    )
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown mode {unknown[0]!r}: choose from {', '.join(MODES)}")
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        raise SystemExit("valgrind is not installed (Debian: apt install valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"tiny MLP, {args.iterations} iterations under callgrind (about a minute per mode)", flush=True)
        plain = count("plain", args.iterations, folder) / args.iterations
        print(f"  plain in a worker thread: {plain / 1000:,.0f} k instructions per iteration", flush=True)
        for mode in modes:
            each = count(mode, args.iterations, folder) / args.iterations
            print(
                f"  {mode:>8}: {each / 1000:,.0f} k per iteration, +{(each - plain) / 1000:,.0f} k, "
                f"ratio {each / plain:.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
