"""A GAN in the shape of pytorch/examples' DCGAN: a generator and a discriminator, two
optimizers, one batch per iteration. D trains on real, then on fake.detach(); G trains
through D on the same fake. Every few batches G samples from fixed noise (a forward that no
backward follows, under no_grad; DCGAN's own leaves grad on, which check then names), and
each epoch both state_dicts are saved."""

import io
import sys

import torch
from _record import Recorder
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

rec = Recorder(__file__)
NZ = 8


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(NZ, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh())

    def forward(self, z):
        return self.main(z)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(16, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1), nn.Sigmoid())

    def forward(self, x):
        return self.main(x).view(-1)


def main():
    torch.manual_seed(0)
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    data = TensorDataset(torch.randn(48, 16).tanh())
    dataloader = DataLoader(data, batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(1))
    netG, netD = Generator(), Discriminator()
    criterion = nn.BCELoss()
    fixed_noise = torch.randn(16, NZ)
    optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-3, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-3, betas=(0.5, 0.999))
    real_label, fake_label = 1.0, 0.0
    for epoch in range(epochs):
        for i, (real,) in enumerate(dataloader):
            # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
            rec.position(epoch, i)
            netD.zero_grad()
            batch_size = real.size(0)
            label = torch.full((batch_size,), real_label)
            output = netD(real)
            errD_real = criterion(output, label)
            rec.loss(errD_real)
            errD_real.backward()
            noise = torch.randn(batch_size, NZ)
            fake = netG(noise)
            label.fill_(fake_label)
            output = netD(fake.detach())
            errD_fake = criterion(output, label)
            rec.loss(errD_fake)
            errD_fake.backward()
            rec.grads(netD)
            optimizerD.step()
            rec.params(netD)
            # (2) Update G: maximize log(D(G(z)))
            netG.zero_grad()
            label.fill_(real_label)
            output = netD(fake)
            errG = criterion(output, label)
            rec.loss(errG)
            errG.backward()
            rec.grads(netG)
            optimizerG.step()
            rec.params(netG)
            print(
                f"[{epoch}/{epochs}][{i}] Loss_D: {(errD_real + errD_fake).item():.4f} Loss_G: {errG.item():.4f}"
            )
            if i % 2 == 0:
                with torch.no_grad():  # sample images: no backward follows, no graph built
                    samples = netG(fixed_noise)
                print(f"samples mean {samples.mean().item():.4f}")
        buffer = io.BytesIO()
        torch.save(netG.state_dict(), buffer)
        torch.save(netD.state_dict(), buffer)


if __name__ == "__main__":
    main()
