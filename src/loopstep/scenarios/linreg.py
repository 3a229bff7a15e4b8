"""The lesson's problem: fit y = 2x + 1 from noisy points with one weight and one bias.

x is drawn from [-4, 4]: wide enough that, with the same data and learning rate,
zero_grad on converges (w, b → 2, 1) while zero_grad off never settles and the loss runs
far above where it started (see the notes on skipping zero_grad).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Scenario

if TYPE_CHECKING:
    from ..engine.owned_loop import OwnedLoop
    from .data import Dataset

N_TRAIN = 256
N_VAL = 64
BATCH = 32
X_RANGE = 4.0
NOISE = 0.1
W0, B0 = -0.5, 0.0  # the same starting point on both backends


def make_data(seed: int) -> Dataset:
    import numpy as np

    from .data import Dataset

    rng = np.random.default_rng(seed)
    x = rng.uniform(-X_RANGE, X_RANGE, size=(N_TRAIN + N_VAL, 1))
    y = 2.0 * x + 1.0 + rng.normal(0.0, NOISE, size=x.shape)
    return Dataset(x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:])


def make(backend: str, *, seed: int, lr: float, epochs: int) -> OwnedLoop:
    from ..engine.owned_loop import OwnedLoop
    from .data import batch_plan

    data = make_data(seed)
    if backend == "numpy":
        from ..backends.numpy_backend import NumpyLinReg

        model = NumpyLinReg(W0, B0, lr)
        plan = batch_plan(
            (data.x_train, data.y_train),
            (data.x_val, data.y_val),
            n=N_TRAIN,
            batch_size=BATCH,
            epochs=epochs,
            seed=seed,
            take=lambda a, idx: a[idx],
        )
        return OwnedLoop(model, plan, "linreg (numpy)")
    from ..backends.torch.scenarios import linreg_backend

    model, tensors, take = linreg_backend(data, W0, B0, lr)
    plan = batch_plan(
        tensors[0], tensors[1], n=N_TRAIN, batch_size=BATCH, epochs=epochs, seed=seed, take=take
    )
    return OwnedLoop(model, plan, "linreg (torch)")


#: The loops as the code pane shows them: str.format templates, filled in with the values in
#: force ({lr}, {epochs}); ``loop_code`` comments out the zero_grad line while it is off.
CODE_TORCH = """\
model = nn.Linear(1, 1, dtype=torch.float64)
with torch.no_grad():                # the NumPy loop's start: w = -0.5, b = 0
    model.weight.fill_(-0.5)
    model.bias.zero_()
opt = torch.optim.SGD(model.parameters(), lr={lr})
loss_fn = nn.MSELoss()
for epoch in range({epochs}):
    for x, y in loader:              # batches of 32
        pred = model(x)              # 1. forward
        L = loss_fn(pred, y)         # 2. loss
        L.backward()                 # 3. backward
        opt.step()                   # 4. step
        opt.zero_grad()              # 5. zero_grad
    model.eval()
    with torch.no_grad():
        val_loss = loss_fn(model(x_val), y_val)
    model.train()
"""

CODE_NUMPY = """\
lr = {lr}
w, b = -0.5, 0.0
w_grad = b_grad = 0.0
for epoch in range({epochs}):
    for x, y in batches(32):
        pred = w * x + b                         # 1. forward
        L = np.mean((pred - y) ** 2)             # 2. loss
        w_grad += 2 * np.mean((pred - y) * x)    # 3. backward: dL/dw
        b_grad += 2 * np.mean(pred - y)          #    and dL/db
        w, b = w - lr * w_grad, b - lr * b_grad  # 4. step
        w_grad = b_grad = 0.0                    # 5. zero_grad
    val_loss = np.mean((w * x_val + b - y_val) ** 2)
"""

LINREG = Scenario(
    name="linreg",
    title="y = 2x + 1 with one weight and one bias",
    backends=("numpy", "torch"),
    default_backend="numpy",
    default_lr=0.1,
    default_epochs=25,
    batch_size=BATCH,
    make=make,
    code={"torch": CODE_TORCH, "numpy": CODE_NUMPY},
)
