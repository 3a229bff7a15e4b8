"""Bug: a deep stack of sigmoids with small weights starves the first layer of gradient."""

import torch
from torch import nn

torch.manual_seed(0)
layers = [nn.Linear(4, 16), nn.Sigmoid()]
for _ in range(10):
    layers += [nn.Linear(16, 16), nn.Sigmoid()]
model = nn.Sequential(*layers, nn.Linear(16, 1))
with torch.no_grad():
    for layer in model[2:-1:2]:
        layer.weight.mul_(0.1)
x = torch.randn(64, 4)
y = x.sum(dim=1, keepdim=True)
opt = torch.optim.SGD(model.parameters(), lr=1e-3)
for _epoch in range(3):
    for i in range(0, 64, 16):
        loss = nn.functional.mse_loss(model(x[i : i + 16]), y[i : i + 16])
        loss.backward()
        opt.step()
        opt.zero_grad()
