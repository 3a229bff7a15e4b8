"""A loop that writes where it is (epoch, micro-batch, step) after each update, in four of
the shapes real trainers have: a DataLoader over epochs, gradient accumulation, a tensor
indexed by hand under an ``epoch`` loop, and a hand-written SGD update without an optimizer.

    python counted_loop.py [SHAPE [LOG]] [--steps N]

Its own log is what loopstep's numbers are checked against, asleep or awake.
"""

import argparse
import os

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class NanGrad(torch.autograd.Function):
    """The identity forward, NaN gradients backward: a finite loss whose grads are not."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "shape", nargs="?", default="loader", choices=["loader", "accumulate", "indexed", "by-hand"]
    )
    parser.add_argument("log", nargs="?", default=os.devnull)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--nan-at", type=int, default=-1, help="at this step, plant a NaN/Inf:")
    parser.add_argument("--nan-in", choices=["input", "grad", "lr"], default="input")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = None if args.shape == "by-hand" else torch.optim.SGD(model.parameters(), lr=0.05)
    x = torch.randn(96, 4)
    y = x.sum(1, keepdim=True)
    loader = DataLoader(TensorDataset(x, y), batch_size=8)  # 12 batches an epoch
    accumulate = 2 if args.shape == "accumulate" else 1
    steps = 0
    with open(args.log, "w", buffering=1) as log:
        for epoch in range(10_000):
            if args.shape == "indexed":
                batches = ((x[i : i + 8], y[i : i + 8]) for i in range(0, 96, 8))
            else:
                batches = iter(loader)
            for index, (xb, yb) in enumerate(batches):
                planted = steps + 1 == args.nan_at
                if planted and args.nan_in == "input":
                    xb = xb.clone()
                    xb[0, 0] = float("nan")
                if planted and args.nan_in == "lr" and opt is not None:
                    opt.param_groups[0]["lr"] = float("inf")
                pred = model(xb)
                if planted and args.nan_in == "grad":
                    pred = NanGrad.apply(pred)
                loss = nn.functional.mse_loss(pred, yb) / accumulate
                loss.backward()
                if (index + 1) % accumulate:
                    continue
                if opt is None:
                    with torch.no_grad():
                        for p in model.parameters():
                            p -= 0.05 * p.grad
                            p.grad = None
                else:
                    opt.step()
                    opt.zero_grad()
                steps += 1
                log.write(f"{epoch} {index} {steps}\n")
                if steps >= args.steps:
                    return


if __name__ == "__main__":
    main()
