"""The small interface a backend offers to a loop loopstep owns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from ..engine.snapshot import Inspector


class TrainingBackend(Inspector, Protocol):
    """One model, its loss and its optimizer, run one phase at a time.

    ``detail`` asks for what only a pause needs (the forward ops, each pass's gradient,
    the parameters before the step); continue mode passes False and pays for none of it.
    """

    name: str

    def set_batch(self, x: Any, y: Any) -> None: ...

    def forward(self, *, detail: bool) -> None: ...

    def compute_loss(self, *, detail: bool) -> float: ...

    def backward(self, *, detail: bool) -> None: ...

    def step(self, *, detail: bool) -> None: ...

    def zero_grad(self) -> None: ...

    def validate(self, batches: Iterable[tuple[Any, Any]]) -> float: ...

    def set_lr(self, lr: float) -> None: ...

    def get_lr(self) -> float | None: ...

    def get_state(self) -> dict: ...

    def set_state(self, state: dict) -> None: ...
