"""A plain loop: DataLoader, CrossEntropyLoss, Adam, a validation pass after each epoch.

The dataset's __getitem__ runs a module with parameters (a fixed projection): that call
is part of fetching a batch, not a forward.
"""

import torch
from _record import Recorder
from torch import nn
from torch.utils.data import DataLoader, Dataset

rec = Recorder(__file__)


class Projected(Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 6, generator=g)
        self.y = torch.randint(0, 3, (n,), generator=g)
        self.project = nn.Linear(6, 4)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        with torch.no_grad():
            return self.project(self.x[i]), self.y[i]


def main():
    torch.manual_seed(0)
    train = DataLoader(
        Projected(48, 1), batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(2)
    )
    val = DataLoader(Projected(32, 3), batch_size=16)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(3):
        model.train()
        for x, y in train:
            pred = model(x)
            loss = loss_fn(pred, y)
            rec.loss(loss)
            loss.backward()
            rec.grads(model)
            optimizer.step()
            rec.params(model)
            optimizer.zero_grad()
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for x, y in val:
                total += loss_fn(model(x), y).item() * len(x)
                count += len(x)
        rec.val(total / count)
        print(f"epoch {epoch}: val {total / count:.4f}")


if __name__ == "__main__":
    main()
