"""LBFGS with a closure, as its docs show it: optimizer.step(closure), where the closure
zeroes the grads and runs forward, loss and backward, possibly several times per step."""

import torch
from _record import Recorder
from torch import nn

rec = Recorder(__file__)


def main():
    torch.manual_seed(0)
    x = torch.linspace(-2, 2, 32).unsqueeze(1)
    y = torch.sin(x) + 0.05 * torch.randn_like(x)
    model = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1))
    criterion = nn.MSELoss()
    optimizer = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=3, history_size=5)
    for step in range(4):

        def closure():
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            rec.loss(loss)
            loss.backward()
            return loss

        loss = optimizer.step(closure)
        rec.params(model)
        print(f"step {step}: loss {loss.item():.6f}")
        with torch.no_grad():
            val = criterion(model(x * 0.9), torch.sin(x * 0.9)).item()
        rec.val(val)
        print(f"step {step}: val {val:.6f}")


if __name__ == "__main__":
    main()
