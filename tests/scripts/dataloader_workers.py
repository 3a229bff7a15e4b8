"""A DataLoader with two worker processes: they must never pause."""

import torch
from _record import Recorder
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

rec = Recorder(__file__)


def main():
    torch.manual_seed(0)
    x = torch.randn(120, 6)
    y = x.sum(dim=1, keepdim=True)
    loader = DataLoader(
        TensorDataset(x, y),
        batch_size=12,
        shuffle=True,
        num_workers=2,
        generator=torch.Generator().manual_seed(5),
    )
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.SmoothL1Loss()
    for _epoch in range(2):
        for xb, yb in loader:
            pred = model(xb)
            loss = loss_fn(pred, yb)
            rec.loss(loss)
            loss.backward()
            rec.grads(model)
            optimizer.step()
            rec.params(model)
            optimizer.zero_grad()


if __name__ == "__main__":
    main()
