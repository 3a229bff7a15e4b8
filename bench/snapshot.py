"""Cost of a full snapshot of a ~10M-parameter model after backward.

Prints milliseconds per snapshot and the ratio to one training iteration of the same model
(target ≤ 50 ms).

    python bench/snapshot.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from loopstep.backends.torch import TorchBackend
from loopstep.engine import BatchPlan, Command, OwnedLoop, Phase, Stepper


def make_model() -> nn.Module:
    torch.manual_seed(0)
    width = 1800
    return nn.Sequential(
        nn.Linear(256, width),
        nn.ReLU(),
        nn.Linear(width, width),
        nn.ReLU(),
        nn.Linear(width, width),
        nn.ReLU(),
        nn.Linear(width, width),
        nn.ReLU(),
        nn.Linear(width, 10),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    model = make_model().to(device)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x, y = torch.randn(64, 256, device=device), torch.randint(0, 10, (64,), device=device)

    iteration_times = []
    for _ in range(args.repeats + 2):
        start = time.perf_counter()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        float(loss.detach())
        sync()
        iteration_times.append(time.perf_counter() - start)
    iteration = statistics.median(iteration_times[2:])

    backend = TorchBackend(model, opt, loss_fn)
    loop = OwnedLoop(backend, BatchPlan(train=lambda e: [(x, y)] * (args.repeats + 3), epochs=1), "bench")
    snapshot_times = []

    def controller(snapshot, reason):
        if stepper.last_event is not None and stepper.last_event.phase is Phase.BACKWARD:
            for _ in range(1):
                start = time.perf_counter()
                stepper.snapshot()
                snapshot_times.append(time.perf_counter() - start)
            return Command.NEXT
        return Command.STEP

    stepper = Stepper(loop, controller=controller, pause_at_start=False)
    stepper.run()
    assert stepper.error is None, stepper.error
    snap = statistics.median(snapshot_times[1:])
    print(f"model: {n_params / 1e6:.1f}M parameters in {len(list(model.parameters()))} tensors on {device}")
    print(f"one training iteration (batch 64): {iteration * 1e3:.1f} ms")
    print(
        f"full snapshot after backward:     {snap * 1e3:.1f} ms  (median of {len(snapshot_times) - 1})  target <= 50 ms"
    )
    print(f"ratio snapshot/iteration: {snap / iteration:.2f}")


if __name__ == "__main__":
    main()
