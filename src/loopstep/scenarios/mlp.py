"""Two interleaved half-moons, a small MLP with BatchNorm and Dropout.

BatchNorm and Dropout make train() and eval() give different answers on the same
input, which is what this scenario is for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Scenario

if TYPE_CHECKING:
    import numpy as np

    from ..engine.owned_loop import OwnedLoop
    from .data import Dataset

N_TRAIN = 512
N_VAL = 128
BATCH = 32
NOISE = 0.15


def make_moons(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    half = n // 2
    angles_a = rng.uniform(0, np.pi, half)
    angles_b = rng.uniform(0, np.pi, n - half)
    a = np.stack([np.cos(angles_a), np.sin(angles_a)], axis=1)
    b = np.stack([1 - np.cos(angles_b), 0.5 - np.sin(angles_b)], axis=1)
    x = np.concatenate([a, b]) + rng.normal(0, NOISE, size=(n, 2))
    y = np.concatenate([np.zeros(half, dtype=np.int64), np.ones(n - half, dtype=np.int64)])
    order = rng.permutation(n)
    return x[order].astype(np.float32), y[order]


def make_data(seed: int) -> Dataset:
    import numpy as np

    from .data import Dataset

    rng = np.random.default_rng(seed)
    x, y = make_moons(N_TRAIN + N_VAL, rng)
    return Dataset(x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:])


def make(backend: str, *, seed: int, lr: float, epochs: int) -> OwnedLoop:
    from ..backends.torch.scenarios import mlp_backend
    from ..engine.owned_loop import OwnedLoop
    from .data import batch_plan

    data = make_data(seed)
    model, tensors, take = mlp_backend(data, lr, seed)
    plan = batch_plan(
        tensors[0], tensors[1], n=N_TRAIN, batch_size=BATCH, epochs=epochs, seed=seed, take=take
    )
    return OwnedLoop(model, plan, "mlp (torch)")


#: The loop as the code pane shows it, filled in with the values in force ({lr}, {epochs}, {seed}).
CODE_TORCH = """\
torch.manual_seed({seed})
model = nn.Sequential(
    nn.Linear(2, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.2),
    nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))
opt = torch.optim.Adam(model.parameters(), lr={lr})
loss_fn = nn.CrossEntropyLoss()
for epoch in range({epochs}):
    model.train()                    # Dropout on, BatchNorm uses the batch
    for x, y in loader:
        pred = model(x)              # 1. forward
        L = loss_fn(pred, y)         # 2. loss
        L.backward()                 # 3. backward
        opt.step()                   # 4. step
        opt.zero_grad()              # 5. zero_grad
    model.eval()                     # Dropout off, BatchNorm uses running stats
    with torch.no_grad():            # no graph: faster, less memory
        val_loss = loss_fn(model(x_val), y_val)
"""

MLP = Scenario(
    name="mlp",
    title="two moons, MLP with BatchNorm and Dropout",
    backends=("torch",),
    default_backend="torch",
    default_lr=0.01,
    default_epochs=10,
    batch_size=BATCH,
    make=make,
    code={"torch": CODE_TORCH},
)
