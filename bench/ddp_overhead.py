"""What loopstep costs a 2-rank DDP job (gloo, CPU): the same script run by torchrun plainly
and as ``torchrun -m loopstep run --no-tui --continue`` (every rank in lockstep, none
paused), alternated; rank 0 times its own training loop (wall time: the ranks wait for one
another in the all-reduce, so neither one's CPU time alone is the job's).

Target: ratio <= 1.10. With ``--break nan`` every rank's own condition is armed, so rank 0
also waits at each phase for the others to reach it (one rank's NaN stops the job where it
fired): that costs more, and is printed apart.

    python bench/ddp_overhead.py [--repeats 3] [--iterations 300] [--break nan]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.10

SCRIPT = """
import sys, time
import torch, torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

iterations, out = int(sys.argv[1]), sys.argv[2]
dist.init_process_group("gloo")
torch.manual_seed(dist.get_rank())
torch.set_num_threads(1)
model = DistributedDataParallel(nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 1)))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
x, y = torch.randn(64, 64), torch.randn(64, 1)

def train(n):
    for _ in range(n):
        loss = nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

train(5)  # warm-up
dist.barrier()
start = time.perf_counter()
train(iterations)
dist.barrier()
if dist.get_rank() == 0:
    open(out, "w").write(str(time.perf_counter() - start))
dist.destroy_process_group()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_once(script: Path, iterations: int, under: bool, folder: Path, breaks: list[str]) -> float:
    out = folder / "elapsed.txt"
    launch = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        f"--master_port={free_port()}",
    ]
    if under:
        launch += ["-m", "loopstep", "run", "--no-tui", "--continue"]
        launch += [arg for condition in breaks for arg in ("--break", condition)]
    env = dict(os.environ, XDG_RUNTIME_DIR=str(folder), OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT / "src"), env.get("PYTHONPATH", "")] if p)
    subprocess.run(
        [*launch, str(script), str(iterations), str(out)],
        check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return float(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--break", dest="breaks", action="append", default=[], metavar="COND")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        script = folder / "ddp.py"
        script.write_text(SCRIPT)
        plain, under = [], []
        for _ in range(args.repeats):  # alternated, so drift hits both alike
            plain.append(run_once(script, args.iterations, False, folder, args.breaks))
            under.append(run_once(script, args.iterations, True, folder, args.breaks))
        armed = "".join(f" --break {condition}" for condition in args.breaks)
        print(
            f"2-rank DDP{armed}, {args.iterations} iterations, best of {args.repeats}: plain {min(plain):.3f} s, "
            f"under loopstep {min(under):.3f} s, ratio {min(under) / min(plain):.3f} (target <= {TARGET})",
            flush=True,
        )


if __name__ == "__main__":
    main()
