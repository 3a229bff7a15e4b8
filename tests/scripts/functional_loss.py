"""A functional loss (F.cross_entropy) on a hand-batched tensor dataset."""

import torch
import torch.nn.functional as F
from _record import Recorder
from torch import nn

rec = Recorder(__file__)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(10, 12)
        self.out = nn.Linear(12, 4)

    def forward(self, x):
        return self.out(F.relu(self.hidden(x)))


torch.manual_seed(0)
data = torch.randn(80, 10)
labels = torch.randint(0, 4, (80,))
net = Net()
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
for step in range(8):
    idx = torch.arange(step * 10, step * 10 + 10)
    logits = net(data[idx])
    loss = F.cross_entropy(logits, labels[idx])
    rec.loss(loss)
    loss.backward()
    rec.grads(net)
    opt.step()
    rec.params(net)
    opt.zero_grad()
    print("step", step, end=" ", flush=True)  # no newline: must not split a stream line
