"""A model compiled with torch.compile (the eager backend: no C compiler needed), trained a few
iterations; prints how many graphs dynamo compiled, so a test can compare a plain run with one
under loopstep (hooks on the model or on torch would make dynamo recompile)."""

import torch
from _record import Recorder
from torch import nn

rec = Recorder(__file__)


def main():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    compiled = torch.compile(model, backend="eager")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(24, 4), torch.randn(24, 1)
    for i in range(6):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(compiled(x[i * 4 : i * 4 + 4]), y[i * 4 : i * 4 + 4])
        rec.loss(loss)
        loss.backward()
        optimizer.step()
    from torch._dynamo.utils import counters

    print("COMPILED", counters["stats"]["unique_graphs"])


if __name__ == "__main__":
    main()
