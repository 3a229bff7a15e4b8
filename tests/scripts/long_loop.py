"""A long hand-written loop (--steps N) that prints its final loss: a run to attach to and
detach from, whose end must be the same as a plain run's."""

import argparse

import torch
from torch import nn


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    x = torch.randn(64, 4)
    y = x.sum(1, keepdim=True)
    step = -1
    try:
        for step in range(args.steps):  # noqa: B007 - the finally block reports it
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
    finally:
        print(f"final loss {loss.item():.8f} after {step + 1} steps", flush=True)


if __name__ == "__main__":
    main()
