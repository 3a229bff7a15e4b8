"""Two optimizers: SGD for the body, Adam for the head."""

import torch
from _record import Recorder
from torch import nn

rec = Recorder(__file__)
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(5, 12), nn.ReLU(), nn.Linear(12, 3))
body = torch.optim.SGD(model[0].parameters(), lr=0.05)
head = torch.optim.Adam(model[2].parameters(), lr=0.01)
loss_fn = nn.CrossEntropyLoss()
x = torch.randn(70, 5)
y = torch.randint(0, 3, (70,))
for i in range(7):
    loss = loss_fn(model(x[i * 10 : i * 10 + 10]), y[i * 10 : i * 10 + 10])
    rec.loss(loss)
    loss.backward()
    rec.grads(model)
    body.step()
    rec.params(model)
    head.step()
    rec.params(model)
    body.zero_grad()
    head.zero_grad()
