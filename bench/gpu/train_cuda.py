"""A plain CUDA training script, stepped by ``loopstep run`` in the GPU check."""

import torch
from torch import nn

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 256), nn.GELU(), nn.LayerNorm(256), nn.Linear(256, 10)).to(device)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
x = torch.randn(512, 64, device=device)
y = torch.randint(0, 10, (512,), device=device)

for epoch in range(2):
    for i in range(0, 512, 64):
        xb, yb = x[i : i + 64], y[i : i + 64]
        with torch.autocast(device.type, dtype=torch.bfloat16):
            pred = model(xb)
            loss = loss_fn(pred, yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
    print(f"epoch {epoch} loss {loss.item():.4f}")
