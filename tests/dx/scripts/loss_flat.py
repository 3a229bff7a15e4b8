"""Bug: the learning rate is 0 (a typo for 1e-2), so nothing ever changes."""

import torch
from torch import nn

torch.manual_seed(0)
x = torch.randn(128, 4)
y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
model = nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.0)
for _epoch in range(5):
    for i in range(0, 128, 16):
        loss = nn.functional.mse_loss(model(x[i : i + 16]), y[i : i + 16])
        loss.backward()
        opt.step()
        opt.zero_grad()
