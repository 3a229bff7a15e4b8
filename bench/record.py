"""Cost of --record in continue mode on the mlp scenario, and the bytes it writes.

Prints the ratio of a recorded run's time to an unrecorded one's (target: at most 1.15),
measured in the same process, and the bytes per iteration for each --record-tensors policy.

The two runs alternate, round after round, and each keeps its best time, as timeit does:
on a shared machine a slow spell then spoils a round or two of both, not the figure. The
median of the rounds' ratios is printed too. Rounds are long (640 iterations) because a
recorded run also pays a few milliseconds once, to open its file and write the model's
parameters: shorter rounds would count that as per-iteration cost.

    python bench/record.py [--epochs 40] [--rounds 8] [--scenario mlp]
    python bench/record.py --big [--device cuda]   # a 10M-parameter model: bytes per iteration
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from loopstep.engine import Command
from loopstep.engine.recording import read_recording, record_session
from loopstep.scenarios import scenario_session

TARGET = 1.15


def timed_run(session, cpu: list | None = None) -> tuple[float, int]:
    """Seconds for one run in continue mode, and the iterations it made.

    ``cpu`` collects the CPU seconds of the whole process (the recorder's writer thread
    included): on a shared machine they vary less than wall time.
    """
    stepper = session.new_stepper(controller=lambda snapshot, reason: Command.CONTINUE)
    start, start_cpu = time.perf_counter(), time.process_time()
    stepper.run()
    elapsed = time.perf_counter() - start
    if cpu is not None:
        cpu.append(time.process_time() - start_cpu)
    if stepper.error is not None:
        raise SystemExit(stepper.error.traceback)
    return elapsed, stepper.last_event.iteration + 1


def _children_cpu() -> float:
    """CPU seconds of this process's finished children: the recordings' writer processes."""
    times = os.times()
    return times.children_user + times.children_system


def big_session(device: str, iterations: int):
    """A ~10M-parameter MLP on ``device`` with random batches: where the size policy matters."""
    import torch
    from torch import nn

    from loopstep.backends.torch.backend import TorchBackend
    from loopstep.engine import BatchPlan, OwnedLoop
    from loopstep.engine.session import Session

    def make_source():
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Linear(1024, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 1024)
        ).to(device)
        backend = TorchBackend(model, torch.optim.SGD(model.parameters(), lr=1e-3), nn.MSELoss())
        x = torch.randn(64, 1024, device=device)
        y = torch.randn(64, 1024, device=device)
        plan = BatchPlan(train=lambda epoch: [(x, y)] * iterations, epochs=1)
        return OwnedLoop(backend, plan, f"10M MLP ({device})")

    return Session(title="10M MLP", make_source=make_source)


def big(device: str, rounds: int) -> None:
    iterations = 20
    plain = big_session(device, iterations)
    params = sum(p.numel() for p in plain.make_source().backend.model.parameters())
    print(f"{params / 1e6:.1f}M-parameter MLP on {device}, {iterations} iterations, continue mode")
    with tempfile.TemporaryDirectory() as folder:
        timed_run(plain)
        base = min(timed_run(plain)[0] for _ in range(rounds))
        print(f"  not recording: {base * 1000 / iterations:.2f} ms/iteration")
        for policy in ("summary", "small", "all"):
            path = os.path.join(folder, f"{policy}.lsr")
            session = record_session(plain, path, policy)
            timed_run(session)
            best = min(timed_run(session)[0] for _ in range(rounds))
            size = os.path.getsize(path)
            print(
                f"  --record-tensors {policy:<7}: {best * 1000 / iterations:8.2f} ms/iteration "
                f"(ratio {best / base:.2f}), {size / iterations:,.0f} bytes/iteration"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="mlp")
    parser.add_argument("--epochs", type=int, default=40, help="epochs per round")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--big", action="store_true", help="a 10M-parameter model instead of mlp")
    parser.add_argument("--device", default="cpu", help="device for --big (cpu, cuda)")
    args = parser.parse_args()
    import torch

    if args.big:
        big(args.device, args.rounds)
        return
    # One thread: on a tiny model extra threads only measure contention with other processes.
    torch.set_num_threads(1)

    plain = scenario_session(args.scenario, epochs=args.epochs)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "run.lsr")
        recorded = record_session(plain, path, "small")
        timed_run(plain)  # warm up: imports, allocator, first-call costs
        timed_run(recorded)
        base, rec, base_cpu, rec_cpu = [], [], [], []
        writer_cpu = _children_cpu()
        for round_ in range(args.rounds):
            # Each goes first in every other round: neither always runs on the other's caches.
            if round_ % 2:
                t, _ = timed_run(recorded, rec_cpu)
                rec.append(t)
            t, iterations = timed_run(plain, base_cpu)
            base.append(t)
            if not round_ % 2:
                t, _ = timed_run(recorded, rec_cpu)
                rec.append(t)
        time.sleep(0.2)  # the last writer process exits and is collected
        writer_cpu = _children_cpu() - writer_cpu
        ratio = min(rec) / min(base)
        paired = sorted(r / b for r, b in zip(rec, base))
        print(
            f"scenario {args.scenario}: {iterations} iterations a round, continue mode, "
            f"best of {args.rounds} rounds"
        )
        print(f"  not recording: {min(base) * 1000 / iterations:.3f} ms/iteration")
        print(f"  recording:     {min(rec) * 1000 / iterations:.3f} ms/iteration")
        verdict = "ok" if ratio <= TARGET else "OVER TARGET"
        print(f"  ratio {ratio:.3f} (target <= {TARGET}) {verdict}")
        print(f"  median of the rounds' ratios {paired[len(paired) // 2]:.3f}")
        cpu_ratio = min(rec_cpu) / min(base_cpu)
        print(
            f"  CPU time: {min(base_cpu) * 1000 / iterations:.3f} vs {min(rec_cpu) * 1000 / iterations:.3f} "
            f"ms/iteration, ratio {cpu_ratio:.3f}"
        )
        print(
            f"  the recording's writer process, on another core: {writer_cpu * 1000 / (iterations * args.rounds):.3f} "
            "ms/iteration of CPU (not in the figures above)"
        )
        for policy in ("summary", "small", "all"):
            policy_path = os.path.join(folder, f"{policy}.lsr")
            timed_run(record_session(plain, policy_path, policy))
            size = os.path.getsize(policy_path)
            phases = len(read_recording(policy_path).phases)
            print(
                f"  --record-tensors {policy:<7}: {size / iterations:,.0f} bytes/iteration "
                f"({size / 1e6:.2f} MB for {iterations} iterations, {phases} phases)"
            )


if __name__ == "__main__":
    main()
