"""module:factory targets for `loopstep check` tests: each returns a loopstep.Experiment."""

from __future__ import annotations

import torch
from torch import nn

import loopstep


class WithExtra(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 1)
        self.extra = nn.Linear(4, 1)  # never used

    def forward(self, x):
        return self.body(x)


def _batches():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 16, 4, generator=g)
    return [(xb, xb.sum(dim=1, keepdim=True)) for xb in x]


def unused_layer():
    torch.manual_seed(0)
    model = WithExtra()
    return loopstep.Experiment(
        model, torch.optim.SGD(model.parameters(), lr=0.05), nn.MSELoss(), _batches(), epochs=1000
    )


def half_optimizer():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    return loopstep.Experiment(
        model, torch.optim.SGD(model[2].parameters(), lr=0.05), nn.MSELoss(), _batches(), epochs=1000
    )
