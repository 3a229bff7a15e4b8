"""A scenario's data and the batches drawn from it (NumPy: imported when a run starts)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.owned_loop import BatchPlan


@dataclass(frozen=True)
class Dataset:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


def batch_plan(
    data_train: tuple, data_val: tuple, *, n: int, batch_size: int, epochs: int, seed: int, take
) -> BatchPlan:
    """Batches drawn by a seeded permutation per epoch: the same for every backend and every rerun."""
    x_train, y_train = data_train
    x_val, y_val = data_val

    def train(epoch: int):
        order = np.random.default_rng([seed, epoch]).permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            yield take(x_train, idx), take(y_train, idx)

    def val():
        yield x_val, y_val

    return BatchPlan(train=train, epochs=epochs, val=val, batches_per_epoch=-(-n // batch_size))
