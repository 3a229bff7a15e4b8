"""Continue-mode cost of the engine on the ``mlp`` scenario.

The same model, data and batches run by a plain hand-written loop (the baseline) and by the
engine in continue mode, alternated in one process so both see the same machine. Prints the
median ratio (target ≤ 1.10, goal 1.05).

    python bench/overhead.py [--iterations 400] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from loopstep.engine import Command, Stepper
from loopstep.scenarios import build


def plain_loop(loop, iterations: int) -> float:
    """What a user writes by hand, with the loss read each iteration as people log it."""
    backend = loop.backend
    model, opt, loss_fn = backend.model, backend.optimizer, backend.loss_fn
    start = time.perf_counter()
    done = 0
    losses = []
    for epoch in range(loop.plan.epochs):
        model.train()
        for x, y in loop.plan.train(epoch):
            pred = model(x)
            loss = loss_fn(pred, y)
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
            done += 1
            if done == iterations:
                return time.perf_counter() - start
        model.eval()
        with torch.no_grad():
            for x, y in loop.plan.val():
                losses.append(loss_fn(model(x), y).item())
    return time.perf_counter() - start


def engine_loop(loop, iterations: int) -> float:
    stepper = Stepper(
        loop, controller=lambda s, r: Command.CONTINUE, max_iterations=iterations, pause_at_start=False
    )
    stepper.pause_at_start = False
    start = time.perf_counter()
    # The first phase pauses (controller answers CONTINUE at once); the rest run straight through.
    stepper.run()
    elapsed = time.perf_counter() - start
    assert stepper.error is None, stepper.error
    assert len(stepper.history.train) == iterations
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)
    epochs = args.iterations // 16 + 2
    plain_loop(build("mlp", "torch", epochs=epochs), 50)  # warm up both paths
    engine_loop(build("mlp", "torch", epochs=epochs), 50)
    ratios, plain_times, engine_times = [], [], []
    for _ in range(args.rounds):
        p = plain_loop(build("mlp", "torch", epochs=epochs), args.iterations)
        e = engine_loop(build("mlp", "torch", epochs=epochs), args.iterations)
        plain_times.append(p)
        engine_times.append(e)
        ratios.append(e / p)
    per_it = statistics.median(plain_times) / args.iterations * 1e6
    print(f"mlp, {args.iterations} iterations x {args.rounds} rounds (plain: {per_it:.0f} µs/iteration)")
    print(f"plain  median {statistics.median(plain_times) * 1e3:8.1f} ms")
    print(f"engine median {statistics.median(engine_times) * 1e3:8.1f} ms")
    print(
        f"ratio engine/plain: median {statistics.median(ratios):.3f}  (min {min(ratios):.3f}, max {max(ratios):.3f})  target <= 1.10"
    )


if __name__ == "__main__":
    main()
