"""Training code that raises at iteration 3 (after its forward)."""

import torch
from _record import Recorder
from torch import nn

rec = Recorder(__file__)
torch.manual_seed(0)
model = nn.Linear(3, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = nn.MSELoss()
x = torch.randn(40, 3)
y = torch.randn(40, 2)
for i in range(6):
    pred = model(x[i * 5 : i * 5 + 5])
    if i == 3:
        raise RuntimeError("labels out of range at iteration 3")
    loss = loss_fn(pred, y[i * 5 : i * 5 + 5])
    rec.loss(loss)
    loss.backward()
    rec.grads(model)
    optimizer.step()
    rec.params(model)
    optimizer.zero_grad()
