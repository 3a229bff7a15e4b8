"""A StepLR schedule, and a manual warm-up that writes param_groups for the first
iterations (as many trainers do before handing over to the scheduler)."""

import torch
from _record import Recorder
from torch import nn

rec = Recorder(__file__)


def main():
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    x, y = torch.randn(40, 3), torch.randn(40, 1)
    warmup = 3
    for i in range(8):
        if i < warmup:
            for group in optimizer.param_groups:
                group["lr"] = 0.1 * (i + 1) / warmup
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x[i * 5 : i * 5 + 5]), y[i * 5 : i * 5 + 5])
        rec.loss(loss)
        loss.backward()
        rec.lr(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if i >= warmup:
            scheduler.step()
        print(f"iteration {i}: lr {optimizer.param_groups[0]['lr']:.5f} loss {loss.item():.4f}")


if __name__ == "__main__":
    main()
