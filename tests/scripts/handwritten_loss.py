"""A loss written by hand: the loss is the tensor .backward() is called on."""

import torch
from _record import Recorder
from torch import nn

rec = Recorder(__file__)
torch.manual_seed(0)
w_true = torch.tensor([[2.0], [-1.0], [0.5]])
x = torch.randn(60, 3)
y = x @ w_true + 0.3
model = nn.Linear(3, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for i in range(7):
    xb, yb = x[i * 8 : i * 8 + 8], y[i * 8 : i * 8 + 8]
    pred = model(xb)
    loss = ((pred - yb) ** 2).mean()
    rec.loss(loss)
    loss.backward()
    rec.grads(model)
    optimizer.step()
    rec.params(model)
    optimizer.zero_grad()
