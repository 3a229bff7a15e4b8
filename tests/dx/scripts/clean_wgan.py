"""Correct: a WGAN in the shape of martinarjovsky/WassersteinGAN's main.py. Each generator
step follows several critic iterations (more at the start), each with the critic's weights
clipped through ``p.data.clamp_``; the critic's ``requires_grad`` is switched off for the
generator's turn; backward gets ``one`` / ``mone``; RMSprop. The generator's parameters get
their first gradient only after the critic's first ten backwards.

``--unused-layer`` gives the generator a layer its forward never calls (a bug)."""

import sys

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

NZ = 8


class Generator(nn.Module):
    def __init__(self, unused_layer: bool):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(NZ, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh())
        if unused_layer:
            self.extra = nn.Linear(16, 16)  # forgotten in forward

    def forward(self, z):
        return self.main(z)


class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(16, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))

    def forward(self, x):
        return self.main(x).mean(0).view(1)


torch.manual_seed(0)
data = TensorDataset(torch.randn(640, 16).tanh())
dataloader = DataLoader(data, batch_size=16, shuffle=True)
netG, netD = Generator("--unused-layer" in sys.argv), Critic()
optimizerD = torch.optim.RMSprop(netD.parameters(), lr=5e-4)
optimizerG = torch.optim.RMSprop(netG.parameters(), lr=5e-4)
one = torch.FloatTensor([1])
mone = one * -1
gen_iterations = 0
for _epoch in range(2):
    data_iter = iter(dataloader)
    i = 0
    while i < len(dataloader):
        # (1) Update the critic
        for p in netD.parameters():
            p.requires_grad = True
        d_iters = 10 if gen_iterations < 3 else 5
        j = 0
        while j < d_iters and i < len(dataloader):
            j += 1
            for p in netD.parameters():
                p.data.clamp_(-0.01, 0.01)
            (real,) = next(data_iter)
            i += 1
            netD.zero_grad()
            errD_real = netD(real)
            errD_real.backward(one)
            noise = torch.randn(real.size(0), NZ)
            with torch.no_grad():
                fake = netG(noise)
            errD_fake = netD(fake)
            errD_fake.backward(mone)
            errD = errD_real - errD_fake
            optimizerD.step()
        # (2) Update the generator
        for p in netD.parameters():
            p.requires_grad = False
        netG.zero_grad()
        noise = torch.randn(16, NZ)
        errG = netD(netG(noise))
        errG.backward(one)
        optimizerG.step()
        gen_iterations += 1
