"""A tiny GPT in the shape of nanoGPT's train.py: the model returns (logits, loss), the loss
computed inside forward with F.cross_entropy; get_batch() per micro-step; gradient
accumulation over k micro-steps with loss / k; clip_grad_norm_; the learning rate set in
param_groups each iteration from a warm-up + cosine schedule; and estimate_loss() under
no_grad over the train and the val split every few iterations."""

import math

import torch
from _record import Recorder
from torch import nn
from torch.nn import functional as F

rec = Recorder(__file__)
BLOCK, VOCAB, EMBD = 8, 16, 16
BATCH, ACCUM, EVAL_ITERS, EVAL_INTERVAL, MAX_ITERS = 4, 4, 2, 3, 7
LR, MIN_LR, WARMUP = 1e-2, 1e-3, 2


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln = nn.LayerNorm(EMBD)
        self.attn = nn.MultiheadAttention(EMBD, 2, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(EMBD, 4 * EMBD), nn.GELU(), nn.Linear(4 * EMBD, EMBD))

    def forward(self, x):
        h = self.ln(x)
        mask = torch.triu(torch.ones(x.size(1), x.size(1), dtype=torch.bool), 1)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.ln(x))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, EMBD)
        self.wpe = nn.Embedding(BLOCK, EMBD)
        self.block = Block()
        self.lm_head = nn.Linear(EMBD, VOCAB, bias=False)

    def forward(self, idx, targets=None):
        pos = torch.arange(idx.size(1))
        x = self.block(self.wte(idx) + self.wpe(pos))
        logits = self.lm_head(x)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


_corpus = torch.Generator().manual_seed(1)
data = {
    "train": torch.randint(0, VOCAB, (200,), generator=_corpus),
    "val": torch.randint(0, VOCAB, (80,), generator=_corpus),
}


def get_batch(split):
    source = data[split]
    ix = torch.randint(len(source) - BLOCK, (BATCH,))
    x = torch.stack([source[i : i + BLOCK] for i in ix])
    y = torch.stack([source[i + 1 : i + 1 + BLOCK] for i in ix])
    return x, y


@torch.no_grad()
def estimate_loss(model):
    out = {}
    model.eval()
    for split in ["train", "val"]:
        losses = torch.zeros(EVAL_ITERS)
        for k in range(EVAL_ITERS):
            X, Y = get_batch(split)
            logits, loss = model(X, Y)
            losses[k] = loss.item()
        out[split] = losses.mean()
    model.train()
    return out


def get_lr(it):
    if it < WARMUP:
        return LR * (it + 1) / (WARMUP + 1)
    ratio = (it - WARMUP) / (MAX_ITERS - WARMUP)
    return MIN_LR + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (LR - MIN_LR)


def main():
    torch.manual_seed(0)
    model = GPT()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.1)
    X, Y = get_batch("train")
    for iter_num in range(MAX_ITERS):
        lr = get_lr(iter_num)
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr
        if iter_num % EVAL_INTERVAL == 0:
            losses = estimate_loss(model)
            rec.val(losses["train"].item())
            rec.val(losses["val"].item())
            print(f"step {iter_num}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
        for _micro_step in range(ACCUM):
            logits, loss = model(X, Y)
            rec.loss(loss)
            loss = loss / ACCUM
            X, Y = get_batch("train")
            loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        rec.lr(optimizer.param_groups[0]["lr"])
        optimizer.zero_grad(set_to_none=True)
        lossf = loss.item() * ACCUM
        print(f"iter {iter_num}: loss {lossf:.4f}, lr {lr:.6f}")


if __name__ == "__main__":
    main()
