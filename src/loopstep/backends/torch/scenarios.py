"""The torch side of the built-in scenarios (models, optimizers, tensors)."""

from __future__ import annotations

import torch
from torch import nn

from .backend import TorchBackend


def _take(tensor: torch.Tensor, idx) -> torch.Tensor:
    return tensor[torch.from_numpy(idx)]


def linreg_backend(data, w0: float, b0: float, lr: float):
    """nn.Linear(1, 1) in float64 starting from the NumPy loop's w and b, so both backends
    print the same numbers."""
    model = nn.Linear(1, 1, dtype=torch.float64)
    with torch.no_grad():
        model.weight.fill_(w0)
        model.bias.fill_(b0)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    backend = TorchBackend(model, optimizer, nn.MSELoss())
    train = (torch.from_numpy(data.x_train), torch.from_numpy(data.y_train))
    val = (torch.from_numpy(data.x_val), torch.from_numpy(data.y_val))
    return backend, (train, val), _take


def build_mlp(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(2, 32),
        nn.BatchNorm1d(32),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(32, 32),
        nn.ReLU(),
        nn.Linear(32, 2),
    )


def mlp_backend(data, lr: float, seed: int):
    model = build_mlp(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    backend = TorchBackend(model, optimizer, nn.CrossEntropyLoss())
    train = (torch.from_numpy(data.x_train), torch.from_numpy(data.y_train))
    val = (torch.from_numpy(data.x_val), torch.from_numpy(data.y_val))
    return backend, (train, val), _take
