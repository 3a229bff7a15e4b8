"""model.zero_grad(set_to_none=False), SGD with momentum and an LR scheduler."""

import torch
from _record import Recorder
from torch import nn

rec = Recorder(__file__)
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
loss_fn = nn.CrossEntropyLoss()
x = torch.randn(64, 4)
y = (x[:, 0] > 0).long()
for i in range(8):
    model.zero_grad(set_to_none=False)
    out = model(x[i * 8 : i * 8 + 8])
    loss = loss_fn(out, y[i * 8 : i * 8 + 8])
    rec.loss(loss)
    loss.backward()
    rec.grads(model)
    optimizer.step()
    rec.params(model)
    scheduler.step()
