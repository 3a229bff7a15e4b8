"""torch.autocast on CPU (bfloat16) around forward and loss."""

import torch
from _record import Recorder
from torch import nn

rec = Recorder(__file__)
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
loss_fn = nn.CrossEntropyLoss()
x = torch.randn(64, 8)
y = torch.randint(0, 4, (64,))
for i in range(7):
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x[i * 8 : i * 8 + 8])
        loss = loss_fn(out, y[i * 8 : i * 8 + 8])
    rec.loss(loss)
    loss.backward()
    rec.grads(model)
    optimizer.step()
    rec.params(model)
    optimizer.zero_grad()
