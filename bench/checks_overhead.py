"""Cost of the default checks in continue mode, and the memory step back needs.

1. The ``mlp`` scenario run in continue mode with the diagnostics (every default check)
   on, against the same run with them off, interleaved in one process; prints the ratio
   of the median times (target ≤ 1.05).
2. The checkpoint size of a ~10M-parameter model with Adam, and what a window of K=32
   iterations would take against the 512 MB cap.

Run: PYTHONPATH=src python bench/checks_overhead.py
"""

from __future__ import annotations

import statistics
import time

from loopstep.engine import Command, Stepper
from loopstep.engine.diagnostics import Diagnostics
from loopstep.scenarios import build

EPOCHS = 10
ROUNDS = 11


def run_once(checks: bool, history: int = 0) -> float:
    """CPU seconds of one run: on a shared machine wall time mostly measures the neighbours."""
    loop = build("mlp", epochs=EPOCHS)
    observers = [Diagnostics()] if checks else []
    stepper = Stepper(loop, controller=lambda s, r: Command.CONTINUE, observers=observers, history=history)
    start = time.process_time()
    stepper.run()
    elapsed = time.process_time() - start
    assert stepper.error is None, stepper.error
    return elapsed


def overhead() -> None:
    import torch

    torch.set_num_threads(1)  # one thread: CPU time then equals the time the loop needs
    run_once(True)  # warm up torch and the caches
    run_once(False)
    off, on, kept = [], [], []
    for _ in range(ROUNDS):
        off.append(run_once(False))
        on.append(run_once(True))
        kept.append(run_once(False, history=32))
    ratio = min(on) / min(off)
    iterations = EPOCHS * 16
    print(
        f"mlp continue mode, {iterations} iterations, best of {ROUNDS} (CPU time): "
        f"checks off {min(off) * 1e3:.1f} ms, on {min(on) * 1e3:.1f} ms, ratio {ratio:.3f} (target <= 1.05); "
        f"medians {statistics.median(off) * 1e3:.1f} / {statistics.median(on) * 1e3:.1f} ms"
    )
    print(
        f"  for reference, step-back checkpoints (K=32, no checks): {min(kept) * 1e3:.1f} ms, "
        f"ratio {min(kept) / min(off):.3f} (not a default check; the app keeps them to step back)"
    )


def history_memory(k: int = 32, cap_mb: float = 512.0) -> None:
    """Checkpoints of a ~10M-parameter MLP with Adam, as the stepper takes them: every
    iteration while stepping (dense), every 8th in continue mode."""
    import torch
    from torch import nn

    from loopstep.backends.torch import TorchBackend
    from loopstep.engine.rewind import MB, Checkpoint, CheckpointWindow

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(1024, 4096), nn.ReLU(), nn.Linear(4096, 1024), nn.ReLU(), nn.Linear(1024, 512)
    )  # fmt: skip
    count = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    backend = TorchBackend(model, optimizer, nn.MSELoss())
    x, y = torch.randn(64, 1024), torch.randn(64, 512)
    for dense in (True, False):
        window = CheckpointWindow(k, cap_mb)
        for iteration in range(2 * k):
            if window.wants(iteration, dense=dense):
                window.add(Checkpoint(iteration, 0, iteration, backend.get_state(), x, y, True, 1e-3, 0))
            backend.set_batch(x, y)
            backend.forward(detail=False)
            backend.compute_loss(detail=False)
            backend.backward(detail=False)
            backend.step(detail=False)
            backend.zero_grad()
        size = window._items[-1].size / MB
        mode = "stepping (every iteration)" if dense else "continue mode (every 8th)"
        print(
            f"history, {count / 1e6:.1f}M parameters + Adam, K={k}, {mode}: {size:.1f} MB per checkpoint; "
            f"uncapped K={k} would take {size * -(-k // (1 if dense else window.every)):.0f} MB; under the "
            f"{cap_mb:.0f} MB cap: {len(window)} checkpoints, {window.total / MB:.0f} MB, reach {window.reach} iterations"
        )
        if window.notice:
            print(f"  notice shown to the user: {window.notice}")


if __name__ == "__main__":
    overhead()
    history_memory()
