"""Bug: a layer is built but never used in forward, so its .grad stays None."""

import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 8)
        self.head = nn.Linear(8, 1)
        self.extra = nn.Linear(8, 8)  # forgotten in forward

    def forward(self, x):
        return self.head(torch.relu(self.body(x)))


torch.manual_seed(0)
x = torch.randn(64, 4)
y = x.sum(dim=1, keepdim=True)
model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for _epoch in range(3):
    for i in range(0, 64, 16):
        loss = nn.functional.mse_loss(model(x[i : i + 16]), y[i : i + 16])
        loss.backward()
        opt.step()
        opt.zero_grad()
