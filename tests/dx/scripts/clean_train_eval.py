"""Correct: Dropout and BatchNorm, eval() + no_grad() for validation, zero_grad every step."""

import torch
from torch import nn

torch.manual_seed(0)
x = torch.randn(256, 4)
y = (x[:, :1] * x[:, 1:2] > 0).long().squeeze(1)
model = nn.Sequential(nn.Linear(4, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 2))
opt = torch.optim.Adam(model.parameters(), lr=0.01)
loss_fn = nn.CrossEntropyLoss()
for _epoch in range(4):
    model.train()
    for i in range(0, 256, 32):
        opt.zero_grad()
        loss = loss_fn(model(x[i : i + 32]), y[i : i + 32])
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        val = loss_fn(model(x), y)
