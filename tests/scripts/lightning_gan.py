"""Lightning manual optimization, as its GAN example: two optimizers from configure_optimizers,
self.optimizers(), toggle_optimizer, manual_backward, step and zero_grad by hand."""

import lightning as L
import torch
from _record import Recorder
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

rec = Recorder(__file__)


class GAN(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.automatic_optimization = False
        self.gen = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 8))
        self.disc = nn.Sequential(nn.Linear(8, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))

    def training_step(self, batch, batch_idx):
        (real,) = batch
        rec.position(self.current_epoch, batch_idx)
        opt_g, opt_d = self.optimizers()
        z = torch.randn(real.size(0), 4)
        # generator
        self.toggle_optimizer(opt_g)
        fake = self.gen(z)
        g_loss = nn.functional.binary_cross_entropy_with_logits(self.disc(fake), torch.ones(real.size(0), 1))
        rec.loss(g_loss)
        self.manual_backward(g_loss)
        opt_g.step()
        opt_g.zero_grad()
        self.untoggle_optimizer(opt_g)
        # discriminator
        self.toggle_optimizer(opt_d)
        d_real = nn.functional.binary_cross_entropy_with_logits(self.disc(real), torch.ones(real.size(0), 1))
        d_fake = nn.functional.binary_cross_entropy_with_logits(
            self.disc(fake.detach()), torch.zeros(real.size(0), 1)
        )
        d_loss = (d_real + d_fake) / 2
        rec.loss(d_loss)
        self.manual_backward(d_loss)
        opt_d.step()
        opt_d.zero_grad()
        self.untoggle_optimizer(opt_d)
        self.log_dict({"g_loss": g_loss, "d_loss": d_loss})

    def configure_optimizers(self):
        return [
            torch.optim.Adam(self.gen.parameters(), lr=2e-3),
            torch.optim.Adam(self.disc.parameters(), lr=2e-3),
        ]


def main():
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(32, 8))
    trainer = L.Trainer(
        max_epochs=2,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(GAN(), DataLoader(data, batch_size=8))


if __name__ == "__main__":
    main()
