"""zero_grad at the top of the loop, arguments from the command line."""

import argparse

import torch
from _record import Recorder
from torch import nn

rec = Recorder(__file__)

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--lr", type=float, default=0.1)
args = parser.parse_args()

torch.manual_seed(0)
x = torch.randn(96, 5)
y = x @ torch.randn(5, 1) + 0.1 * torch.randn(96, 1)
model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
loss_fn = nn.MSELoss()

for _epoch in range(args.epochs):
    for start in range(0, len(x), 16):
        optimizer.zero_grad()
        pred = model(x[start : start + 16])
        loss = loss_fn(pred, y[start : start + 16])
        rec.loss(loss)
        loss.backward()
        rec.grads(model)
        optimizer.step()
        rec.params(model)
