"""Gradient accumulation over 3 micro-batches, with gradient clipping."""

import torch
from _record import Recorder
from torch import nn

ACCUMULATE = 3
rec = Recorder(__file__)
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 10), nn.GELU(), nn.Linear(10, 1))
optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
loss_fn = nn.MSELoss()
x = torch.randn(120, 4)
y = torch.sin(x[:, :1])
for micro in range(30):
    xb, yb = x[micro * 4 : micro * 4 + 4], y[micro * 4 : micro * 4 + 4]
    loss = loss_fn(model(xb), yb)
    rec.loss(loss)
    (loss / ACCUMULATE).backward()
    rec.grads(model)
    if (micro + 1) % ACCUMULATE == 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        rec.params(model)
        optimizer.zero_grad()
