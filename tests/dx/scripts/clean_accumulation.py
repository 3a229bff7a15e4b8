"""Correct: gradients deliberately accumulated over 4 micro-batches per step."""

import torch
from torch import nn

torch.manual_seed(0)
x = torch.randn(256, 4)
y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
model = nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.05)
for _epoch in range(3):
    for step, i in enumerate(range(0, 256, 8)):
        loss = nn.functional.mse_loss(model(x[i : i + 8]), y[i : i + 8]) / 4
        loss.backward()
        if step % 4 == 3:
            opt.step()
            opt.zero_grad()
