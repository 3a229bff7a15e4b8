"""A DataLoader with worker processes and prefetching, wrapped by a loader that reads one
batch ahead to know which batch is the last (as accelerate's and Lightning's loaders do)."""

import torch
from _record import Recorder
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

rec = Recorder(__file__)


class ReadAhead:
    """Yields (batch, is_last): it fetches the next batch before handing over this one."""

    def __init__(self, loader):
        self.loader = loader

    def __iter__(self):
        iterator = iter(self.loader)
        try:
            current = next(iterator)
        except StopIteration:
            return
        while True:
            try:
                upcoming = next(iterator)
            except StopIteration:
                yield current, True
                return
            yield current, False
            current = upcoming


def main():
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(40, 5), torch.randn(40, 1))
    loader = DataLoader(data, batch_size=10, num_workers=2, prefetch_factor=2)
    model = nn.Linear(5, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    for epoch in range(2):
        for i, ((x, y), last) in enumerate(ReadAhead(loader)):
            rec.position(epoch, i)
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            rec.loss(loss)
            loss.backward()
            optimizer.step()
            print(f"epoch {epoch} batch {i} last {last} loss {loss.item():.4f}")


if __name__ == "__main__":
    main()
