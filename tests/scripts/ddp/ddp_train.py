"""A DDP training script in the shape of PyTorch's DDP tutorial and examples/distributed:
``init_process_group`` from torchrun's environment, a DistributedSampler, ``set_epoch`` each
epoch, DDP around the model. ``MODE`` plants one of the classic mistakes:

    torchrun --nproc_per_node=2 ddp_train.py [correct|no-sampler|no-set-epoch|rank0-eval] [EPOCHS]

``rank0-eval`` is correct too, and evaluates on rank 0 alone after each epoch (as many
trainers log from rank 0 only).
"""

import sys

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "correct"
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)
    x = torch.randn(256, 8)
    y = x.sum(1, keepdim=True)
    dataset = TensorDataset(x, y)
    sampler = None if mode == "no-sampler" else DistributedSampler(dataset, shuffle=True)
    loader = DataLoader(dataset, batch_size=16, sampler=sampler, shuffle=sampler is None)
    model = DistributedDataParallel(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    loss_fn = nn.MSELoss()
    for epoch in range(epochs):
        if sampler is not None and mode != "no-set-epoch":
            sampler.set_epoch(epoch)
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
        if rank == 0 and mode == "rank0-eval":
            model.eval()
            with torch.no_grad():
                val = loss_fn(model.module(x[:64]), y[:64]).item()
            model.train()
            print(f"epoch {epoch} val {val:.6f}", flush=True)
        if rank == 0:
            print(f"epoch {epoch} loss {loss.item():.6f}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
