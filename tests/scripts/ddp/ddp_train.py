"""A DDP training script in the shape of PyTorch's DDP tutorial and examples/distributed:
``init_process_group`` from torchrun's environment, a DistributedSampler, ``set_epoch`` each
epoch, DDP around the model. ``MODE`` plants one of the classic mistakes:

    torchrun --nproc_per_node=2 ddp_train.py MODE [EPOCHS]

MODE: correct, no-sampler, no-set-epoch, rank0-eval, hand-sharded, uneven, no-sync, rank-lr,
unused-head, rank1-nan.
``rank0-eval`` is correct too, and evaluates on rank 0 alone after each epoch (as many
trainers log from rank 0 only); so is ``hand-sharded``, which gives each rank its own slice
of the data (``x[rank::world]``) instead of a DistributedSampler. ``uneven`` shards so by
hand too, with one sample more on rank 0: 9 batches an epoch there, 8 on rank 1. ``no-sync``
steps inside ``no_sync()`` (the gradients are never all-reduced); ``rank-lr`` scales the
learning rate by the rank; ``unused-head`` has a head the forward never uses, which DDP is
told to look for (``find_unused_parameters=True``); ``rank1-nan`` gives rank 1 a corrupt
sample (a NaN) in its sixth batch, rank 0 none.
"""

import sys

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset


class TwoHeads(nn.Module):
    """A body and two heads, of which the forward uses one (the other is left from an
    experiment): its parameters never get a gradient."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.head = nn.Linear(16, 1)
        self.aux_head = nn.Linear(16, 4)

    def forward(self, x):
        return self.head(self.body(x))


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "correct"
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)
    x = torch.randn(257 if mode == "uneven" else 256, 8)
    y = x.sum(1, keepdim=True)
    dataset = TensorDataset(x, y)
    if mode in ("hand-sharded", "uneven"):
        dataset, sampler = TensorDataset(x[rank::world], y[rank::world]), None
    elif mode == "no-sampler":
        sampler = None
    else:
        sampler = DistributedSampler(dataset, shuffle=True)
    loader = DataLoader(dataset, batch_size=16, sampler=sampler, shuffle=sampler is None)
    if mode == "unused-head":
        model = DistributedDataParallel(TwoHeads(), find_unused_parameters=True)
    else:
        model = DistributedDataParallel(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05 * (1 + rank if mode == "rank-lr" else 1))
    loss_fn = nn.MSELoss()
    for epoch in range(epochs):
        if sampler is not None and mode != "no-set-epoch":
            sampler.set_epoch(epoch)
        for batch, (xb, yb) in enumerate(loader):
            if mode == "rank1-nan" and rank == 1 and epoch == 0 and batch == 5:
                xb = xb.clone()
                xb[0, 0] = float("nan")
            optimizer.zero_grad()
            if mode == "no-sync":
                with model.no_sync():  # never all-reduced: each rank steps on its own gradients
                    out = model(xb)
                    loss = loss_fn(out, yb)
                    loss.backward()
            else:
                loss = loss_fn(model(xb), yb)
                loss.backward()  # DDP all-reduces the gradients here
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
