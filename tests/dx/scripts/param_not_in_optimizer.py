"""Bug: the optimizer is given only the last layer's parameters."""

import torch
from torch import nn

torch.manual_seed(0)
x = torch.randn(64, 4)
y = x.sum(dim=1, keepdim=True)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
opt = torch.optim.SGD(model[2].parameters(), lr=0.01)
for _epoch in range(3):
    for i in range(0, 64, 16):
        loss = nn.functional.mse_loss(model(x[i : i + 16]), y[i : i + 16])
        loss.backward()
        opt.step()
        opt.zero_grad()
