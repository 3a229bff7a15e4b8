"""A hand-written loop with locals only the loop has (running_loss, a per-layer model), for the
expression prompt: the test reads them at a pause and assigns one with a statement."""

import torch
from torch import nn


def train():
    torch.manual_seed(0)
    model = nn.Sequential()
    model.add_module("fc1", nn.Linear(3, 8))
    model.add_module("act", nn.Tanh())
    model.add_module("fc2", nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    xs = torch.randn(40, 3)
    ys = xs.sum(1, keepdim=True)
    running_loss = 0.0
    marker = "as the script set it"
    for step in range(8):
        xb, yb = xs[step * 5 : step * 5 + 5], ys[step * 5 : step * 5 + 5]
        out = model(xb)
        loss = nn.functional.mse_loss(out, yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
        running_loss += loss.item()
        noise = torch.rand(1).item()  # the run's own random numbers: an expression must not move them
    print(f"marker={marker} running_loss={running_loss:.6f} noise={noise:.6f}")


if __name__ == "__main__":
    train()
