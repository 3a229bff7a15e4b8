"""Bug: one corrupt batch (values a thousand times too large) arrives at iteration 12."""

import torch
from torch import nn

torch.manual_seed(0)
x = torch.randn(16, 16, 4)
y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
x[12] *= 1000.0
model = nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=1e-9)
for i in range(16):
    loss = nn.functional.mse_loss(model(x[i]), y[i])
    loss.backward()
    opt.step()
    opt.zero_grad()
