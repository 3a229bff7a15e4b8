"""A backbone and a head called one after the other (head(enc(x))), as fine-tuning code
does, with one optimizer over both and a validation pass each epoch."""

import itertools

import torch
from _record import Recorder
from torch import nn

rec = Recorder(__file__)


def main():
    torch.manual_seed(0)
    enc = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 8))
    head = nn.Linear(8, 3)
    optimizer = torch.optim.Adam(itertools.chain(enc.parameters(), head.parameters()), lr=1e-2)
    criterion = nn.CrossEntropyLoss()
    x, y = torch.randn(30, 6), torch.randint(0, 3, (30,))
    xv, yv = torch.randn(10, 6), torch.randint(0, 3, (10,))
    for epoch in range(2):
        enc.train()
        head.train()
        for i in range(3):
            rec.position(epoch, i)
            optimizer.zero_grad()
            feats = enc(x[i * 10 : i * 10 + 10])
            loss = criterion(head(feats), y[i * 10 : i * 10 + 10])
            rec.loss(loss)
            loss.backward()
            optimizer.step()
        enc.eval()
        head.eval()
        with torch.no_grad():
            val = criterion(head(enc(xv)), yv).item()
        rec.val(val)
        print(f"epoch {epoch}: val {val:.4f}")


if __name__ == "__main__":
    main()
