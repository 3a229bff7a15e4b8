"""What summarizing a model's parameters and grads costs at each pause of a PyTorch run (the
app's snapshot and every line of a stream take one): the fused pass of the small CPU tensors
against summarizing every tensor by itself (what loopstep did before), in the same run.

Three models: the tiny MLP of ``run_overhead.py`` (16-32-32-1), a wider MLP (784-256-256-10,
an MNIST trainer's) and the ~10M-parameter MLP, whose large tensors go the per-tensor way in
both (the ratio stays near 1 there).

    python bench/summaries.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from loopstep.backends.torch import stats  # noqa: E402

MODELS = {
    "tiny": ((16, 32, 32, 1), 32),
    "mnist": ((784, 256, 256, 10), 64),
    "10M": ((1024, 2048, 2048, 2048, 512), 32),
}


def model_of(sizes: tuple[int, ...]) -> nn.Module:
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def timed(tensors: list, repeats: int) -> float:
    """Median seconds of one summary of all of ``tensors``."""
    stats.summarize_many(tensors)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        stats.summarize_many(tensors)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    fused_limit = stats.FUSED_NUMEL
    for name, (sizes, batch) in MODELS.items():
        model = model_of(sizes)
        x = torch.randn(batch, sizes[0])
        model(x).square().mean().backward()
        params = list(model.parameters())
        tensors = params + [p.grad for p in params] + [x]
        repeats = args.repeats if name != "10M" else max(5, args.repeats // 20)
        stats.FUSED_NUMEL = 0
        alone = timed(tensors, repeats)
        stats.FUSED_NUMEL = fused_limit
        fused = timed(tensors, repeats)
        print(
            f"{name:>6}: {len(tensors)} tensors, each alone {alone * 1e3:.3f} ms, "
            f"fused {fused * 1e3:.3f} ms, ratio {fused / alone:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
