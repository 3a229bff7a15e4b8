"""A script that pickles its model and saves it whole, mid-run, as checkpointing code does:
torch.save(model), pickle.dumps(model) and of the optimizer, then a reload and a compare."""

import io
import pickle

import torch
from _record import Recorder
from torch import nn

rec = Recorder(__file__)


def main():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = torch.randn(24, 4), torch.randn(24, 1)
    for i in range(6):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x[i * 4 : i * 4 + 4]), y[i * 4 : i * 4 + 4])
        rec.loss(loss)
        loss.backward()
        optimizer.step()
        if i == 2:
            buffer = io.BytesIO()
            torch.save(model, buffer)
            buffer.seek(0)
            again = torch.load(buffer, weights_only=False)
            pickle.loads(pickle.dumps(optimizer))
            same = all(
                torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values())
            )
            print("SAVED", same, len(again._forward_hooks), len(again._forward_pre_hooks))
    print("REPR", repr(model).replace("\n", " "))
    print("KEYS", ",".join(model.state_dict()))
    print("MODULES", ",".join(name for name, _ in model.named_modules()))


if __name__ == "__main__":
    main()
