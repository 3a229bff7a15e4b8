"""Bug: an attention-like submodule takes the log of a negative number from iteration 3 on."""

import torch
from torch import nn


class Attn(nn.Module):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return torch.log(x - 10.0) if self.calls > 3 else x


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(8, 8)
        self.attn = Attn()

    def forward(self, x):
        return self.attn(torch.tanh(self.linear(x)))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([Layer(), Layer(), Layer()])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(4, 8)
        self.encoder = Encoder()
        self.head = nn.Linear(8, 1)

    def forward(self, x):
        return self.head(self.encoder(self.embed(x)))


torch.manual_seed(0)
model = Net()
model.encoder.layers[0].attn.calls = -(10**9)  # only the third layer's attention misbehaves
model.encoder.layers[1].attn.calls = -(10**9)
x = torch.randn(64, 4)
y = x.sum(dim=1, keepdim=True)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for _epoch in range(2):
    for i in range(0, 64, 16):
        loss = nn.functional.mse_loss(model(x[i : i + 16]), y[i : i + 16])
        loss.backward()
        opt.step()
        opt.zero_grad()
