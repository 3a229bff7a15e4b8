"""An accelerate training loop: prepare, accumulate, backward, clip, step, zero_grad."""

import torch
from _record import Recorder
from accelerate import Accelerator
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

rec = Recorder(__file__)


def main():
    torch.manual_seed(0)
    accelerator = Accelerator(gradient_accumulation_steps=2, cpu=True)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    train_loader = DataLoader(TensorDataset(torch.randn(32, 4), torch.randn(32, 1)), batch_size=4)
    val_loader = DataLoader(TensorDataset(torch.randn(16, 4), torch.randn(16, 1)), batch_size=4)
    model, optimizer, train_loader, val_loader = accelerator.prepare(
        model, optimizer, train_loader, val_loader
    )
    for epoch in range(2):
        model.train()
        for step, (x, y) in enumerate(train_loader):
            rec.position(epoch, step)
            with accelerator.accumulate(model):
                loss = nn.functional.mse_loss(model(x), y)
                rec.loss(loss)
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad()
        model.eval()
        total = 0.0
        with torch.no_grad():
            for x, y in val_loader:
                total += nn.functional.mse_loss(model(x), y).item() * len(x)
        rec.val(total / 16)
        accelerator.print(f"epoch {epoch}: val {total / 16:.4f}")


if __name__ == "__main__":
    main()
