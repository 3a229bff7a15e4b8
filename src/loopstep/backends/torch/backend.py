"""A torch model, optimizer and loss run one phase at a time by a loop loopstep owns."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ...engine.snapshot import ParamState
from ...engine.summary import TensorSummary
from ...engine.trace import Trace
from ...engine.training_frame import TrainingFrame
from .probe import TorchProbe
from .watch import FixedParams, RunWatch


def _to_device(value: Any, device: torch.device | None) -> Any:
    if device is None or not isinstance(value, torch.Tensor):
        return value
    return value.to(device, non_blocking=True)


class TorchBackend:
    name = "torch"

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        loss_fn: Callable[[Any, Any], torch.Tensor],
        *,
        device: torch.device | str | None = None,
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.device = torch.device(device) if device is not None else _model_device(model)
        self.watch = RunWatch(FixedParams(model), model)
        # A recording asks these at every phase: the watch answers them without a forwarding
        # call in between (the methods of the same names below say what they are).
        self.model_mode = self.watch.model_mode  # type: ignore[method-assign]
        self.grad_enabled = self.watch.grad_enabled  # type: ignore[method-assign]
        self.export_arrays = self.watch.export_arrays  # type: ignore[method-assign]
        self.export_packed = self.watch.export_packed  # type: ignore[method-assign]
        self.probe = TorchProbe(self.watch.params, lambda: (model,), lambda: (optimizer,))
        self.x: Any = None
        self.y: Any = None
        self.pred: Any = None
        self.loss: torch.Tensor | None = None
        model.train()

    # ----- the five phases ------------------------------------------------------------------
    def set_batch(self, x: Any, y: Any) -> None:
        self.watch.new_batch()
        self.x = _to_device(x, self.device)
        self.y = _to_device(y, self.device)
        self.pred = None
        self.loss = None
        self.watch.set_tensor("x", self.x)
        self.watch.set_tensor("y", self.y)

    def forward(self, *, detail: bool) -> None:
        if detail:
            with self.watch.recording("forward"):
                self.pred = self.model(self.x)
        else:
            self.pred = self.model(self.x)
        self.watch.set_tensor("pred", self.pred)
        self.probe.note_forward(self.model.training, self.pred)

    def compute_loss(self, *, detail: bool) -> float:
        if detail:
            with self.watch.recording("loss"):
                self.loss = self.loss_fn(self.pred, self.y)
        else:
            self.loss = self.loss_fn(self.pred, self.y)
        self.watch.set_tensor("loss", self.loss)
        self.watch.keep_graph(self.loss)
        return float(self.loss.detach())

    def backward(self, *, detail: bool) -> None:
        before = self.watch.before_backward(detail=detail)
        self.loss.backward()
        self.watch.after_backward(before, detail=detail)

    def step(self, *, detail: bool) -> None:
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        if detail:
            self.watch.remember_before_step(params)
        self.optimizer.step()
        self.watch.stepped(params, copied=detail)

    #: Whether zero_grad sets .grad to None (torch's default) or to zeros.
    zero_grad_to_none = True

    def zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=self.zero_grad_to_none)
        self.watch.cleared()

    def validate(self, batches: Iterable[tuple[Any, Any]]) -> float:
        was_training = self.model.training
        self.model.eval()
        total = 0.0
        count = 0
        last: dict = {}
        try:
            with torch.no_grad():
                for x, y in batches:
                    x = _to_device(x, self.device)
                    y = _to_device(y, self.device)
                    pred = self.model(x)
                    self.probe.note_forward(self.model.training, pred)
                    loss = self.loss_fn(pred, y)
                    n = len(x) if hasattr(x, "__len__") else 1
                    total += float(loss) * n
                    count += n
                    last = {"x_val": x, "y_val": y, "pred_val": pred}
        finally:
            self.model.train(was_training)
        val_loss = total / max(count, 1)
        # The pause after validate shows the mode it ran in, and what it ran on.
        self.watch.shown_mode = ("eval", False)
        self.watch.show_validation({**last, "val_loss": torch.tensor(val_loss, dtype=torch.float64)})
        return val_loss

    def set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def get_lr(self) -> float | None:
        groups = self.optimizer.param_groups
        lr = groups[0].get("lr") if groups else None
        return float(lr) if lr is not None else None

    def training_frame(self, position: dict[str, int]) -> TrainingFrame:
        """The loop's objects by the names its code pane uses."""
        from .frame import describe, expand, fingerprint, same_random_numbers

        names = {
            "model": self.model,
            "optimizer": self.optimizer,
            "loss_fn": self.loss_fn,
            "x": self.x,
            "y": self.y,
            "pred": self.pred,
            "loss": self.loss,
            **position,
        }
        return TrainingFrame(
            names=names,
            globals={"torch": torch, "nn": torch.nn, "F": torch.nn.functional},
            where="the loop loopstep runs (torch)",
            describe=describe,
            expand=expand,
            quiet=same_random_numbers,
            fingerprint=lambda: fingerprint([self.model], [self.optimizer], names.values()),
            first=tuple(names),
        )

    # ----- checkpoints (step back) ----------------------------------------------------------
    def get_state(self) -> dict:
        return {
            "model": {k: v.detach().clone() for k, v in self.model.state_dict().items()},
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
            "grads": {
                name: None if p.grad is None else p.grad.detach().clone() for name, p in self.watch.named
            },
            "passes": dict(self.watch.passes),
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        }

    def set_state(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(copy.deepcopy(state["optimizer"]))
        for name, p in self.watch.named:
            grad = state["grads"].get(name)
            p.grad = None if grad is None else grad.clone()
        self.watch.passes = dict(state.get("passes", {}))
        self.watch.before_step = {}  # a checkpoint keeps no copy from before its last step
        torch.set_rng_state(state["rng"])
        if state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state_all(state["cuda_rng"])

    def random_state(self) -> tuple:
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
        return torch.get_rng_state(), cuda

    def set_random_state(self, state: object) -> None:
        cpu, cuda = state  # type: ignore[misc]
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)

    # ----- inspection (delegated to the watch) --------------------------------------------------
    def model_mode(self) -> str:
        return self.watch.model_mode()

    def grad_enabled(self) -> bool:
        return self.watch.grad_enabled()

    def param_states(self, brief: bool = False) -> tuple[ParamState, ...]:
        return self.watch.param_states(brief)

    def tensors(self) -> dict[str, TensorSummary]:
        return self.watch.tensors()

    def trace(self) -> Trace:
        return self.watch.trace()

    def tensor_values(self, name: str) -> np.ndarray | None:
        return self.watch.tensor_values(name)

    @property
    def params_version(self) -> int:
        return 0  # one model, the same parameters for the whole run

    def export_arrays(self, names: Sequence[str], max_numel: int | None = None) -> dict:
        return self.watch.export_arrays(names, max_numel)

    def export_packed(self, names: Sequence[str], max_numel: int | None = None) -> bytes | str | None:
        return self.watch.export_packed(names, max_numel)


def _model_device(model: nn.Module) -> torch.device | None:
    for p in model.parameters():
        return p.device
    return None
