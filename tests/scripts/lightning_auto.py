"""Lightning automatic optimization: AdamW + StepLR, accumulate_grad_batches=2,
gradient_clip_val, a validation loop logging val_loss."""

import lightning as L
import torch
from _record import Recorder
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

rec = Recorder(__file__)


class Regressor(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        rec.position(self.current_epoch, batch_idx)
        loss = nn.functional.mse_loss(self(x), y)
        rec.loss(loss)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self(x), y)
        self.log("val_loss", loss)

    def on_validation_epoch_end(self):
        rec.val(self.trainer.callback_metrics["val_loss"].item())

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=1e-2)
        return [optimizer], [torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)]


def main():
    torch.manual_seed(0)
    train = TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
    val = TensorDataset(torch.randn(16, 4), torch.randn(16, 1))
    trainer = L.Trainer(
        max_epochs=2,
        accelerator="cpu",
        devices=1,
        accumulate_grad_batches=2,
        gradient_clip_val=1.0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(Regressor(), DataLoader(train, batch_size=8), DataLoader(val, batch_size=8))


if __name__ == "__main__":
    main()
