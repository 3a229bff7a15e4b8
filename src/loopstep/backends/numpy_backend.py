"""The lesson's from-scratch loop: linear regression with gradients written by hand.

No autograd: backward is two formulas, dL/dw = 2·mean((pred − y)·x) and
dL/db = 2·mean(pred − y). Skipping zero_grad makes ``.grad`` add up exactly as
torch's does, so both backends tell the same story with the same numbers.

Each phase writes what it computed into the iteration's record as it runs; the trace's
formulas and graph are drawn from that record (numpy_trace), not from the live state that
later phases change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..engine.probes import ForwardFacts
from ..engine.snapshot import ParamState
from ..engine.summary import TensorSummary, fmt, summarize_array
from ..engine.trace import Trace, TraceOp
from ..engine.training_frame import TrainingFrame
from .numpy_probe import NumpyProbe
from .numpy_trace import IterationRecord, StepRecord, formulas, graph, scalars


class NumpyLinReg:
    name = "numpy"
    #: w and b, for the whole run.
    params_version = 0

    def __init__(self, w: float, b: float, lr: float) -> None:
        self.params: dict[str, np.ndarray] = {
            "w": np.array([w], dtype=np.float64),
            "b": np.array([b], dtype=np.float64),
        }
        # Zeros, as the loop on screen starts them (w_grad = b_grad = 0.0); torch starts at None.
        self.grads: dict[str, np.ndarray | None] = {"w": np.zeros(1), "b": np.zeros(1)}
        #: Backward passes summed in ``.grad`` since the last zero_grad.
        self.passes = 0
        self.lr = lr
        self.x = self.y = self.pred = None
        self.loss: float | None = None
        #: The mode the last phase ran in, as the status line shows it: ``eval`` and no_grad from
        #: validate until the next batch (torch's backend keeps ``shown_mode`` the same way).
        self.mode = "train"
        self.grad_mode = True
        #: How the last forward ran (None before the first), for the probe's forward_facts.
        self.last_forward: ForwardFacts | None = None
        #: ‖Δθ‖ / ‖θ‖ of the last step, kept until the next one (as torch's probe keeps it).
        self.last_update_ratio: float | None = None
        #: What this iteration's phases computed, for the trace and the parameters' panel.
        self.record = IterationRecord()
        #: What the last step moved each parameter by, kept until the next step ("Δ last step").
        self.step_change: dict[str, np.ndarray] | None = None
        #: The last validation batch and its loss, shown at the validate pause until the next batch.
        self.val_batch: dict[str, np.ndarray] | None = None
        self._ops: list[TraceOp] = []
        self._recorded = False
        self.probe = NumpyProbe(self)

    # ----- the five phases ------------------------------------------------------------------
    def set_batch(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = x, y
        self.val_batch = None
        self.mode, self.grad_mode = "train", True
        self.pred = None
        self.loss = None
        self._ops = []
        self._new_iteration()

    def _new_iteration(self) -> None:
        """Forget what the last iteration computed: its numbers belong to no line of this one
        (the last step's move stays: it is what the parameters pane calls "Δ last step")."""
        self.record = IterationRecord()

    def forward(self, *, detail: bool) -> None:
        self.record.forward = scalars(self.params)
        self.pred = self.x * self.params["w"] + self.params["b"]
        # No autograd here: a forward never builds a graph.
        self.last_forward = ForwardFacts(training=self.mode == "train", builds_graph=False)
        self._recorded = detail
        if detail:
            n = self.x.shape
            self._ops = [
                TraceOp(0, "mul", (n, (1,)), n, "x · w"),
                TraceOp(1, "add", (n, (1,)), n, "(x · w) + b  →  pred"),
            ]

    def compute_loss(self, *, detail: bool) -> float:
        diff = self.pred - self.y
        self.loss = float(np.mean(diff * diff))
        self.record.loss = self.loss
        if detail:
            n = self.pred.shape
            self._ops += [
                TraceOp(2, "sub", (n, n), n, "pred − y", phase="loss"),
                TraceOp(3, "square", (n,), n, "(pred − y)²", phase="loss"),
                TraceOp(4, "mean", (n,), (), f"mean → L = {fmt(self.loss)}", phase="loss"),
            ]
        return self.loss

    def backward(self, *, detail: bool) -> None:
        diff = self.pred - self.y
        batch = {
            "w": np.array([2.0 * np.mean(diff * self.x)]),
            "b": np.array([2.0 * np.mean(diff)]),
        }
        record = self.record
        record.held = scalars(self.grads) if self.passes else None
        for name, grad in batch.items():
            held = self.grads[name]
            self.grads[name] = grad.copy() if held is None else held + grad
        self.passes += 1
        record.passes = self.passes
        record.grads = scalars(batch)
        record.batch_grads = batch

    def step(self, *, detail: bool) -> None:
        before = {name: value.copy() for name, value in self.params.items()}
        used = {name: None if g is None else g.copy() for name, g in self.grads.items()}
        for name, value in self.params.items():
            grad = used[name]
            if grad is not None:
                self.params[name] = value - self.lr * grad
        self.step_change = {name: self.params[name] - before[name] for name in self.params}
        self.record.step = StepRecord(
            before=scalars(before),
            lr=self.lr,
            grad=scalars(used),
            after=scalars(self.params),
            passes=self.passes,
        )
        moved = np.sqrt(sum(float(np.sum(d**2)) for d in self.step_change.values()))
        size = np.sqrt(sum(float(np.sum(v**2)) for v in self.params.values()))
        self.last_update_ratio = float(moved / max(size, 1e-30))

    def zero_grad(self) -> None:
        # The lesson's hand-written loop resets to zero (torch's default sets None instead).
        for name in self.grads:
            if self.grads[name] is not None:
                self.grads[name] = np.zeros_like(self.grads[name])
        self.passes = 0
        self.record.zeroed = True

    def validate(self, batches: Iterable[tuple[np.ndarray, np.ndarray]]) -> float:
        """Validation loss over ``batches``, in eval mode without gradients.

        The mode stays eval / no_grad for the pause after validate, which shows what validate
        ran in; the next batch puts train / grad back. A failure puts it back at once, as
        torch's backend does (its shown mode is only set once validate has finished).
        """
        total, count = 0.0, 0
        used = scalars(self.params)
        self.mode, self.grad_mode = "eval", False
        try:
            for x, y in batches:
                pred = x * self.params["w"] + self.params["b"]
                diff = pred - y
                self.last_forward = ForwardFacts(training=False, builds_graph=False)
                total += float(np.sum(diff * diff))
                count += diff.size
                self.val_batch = {"x_val": x, "y_val": y, "pred_val": pred}
        except BaseException:
            self.mode, self.grad_mode = "train", True
            raise
        val_loss = total / max(count, 1)
        self.record.validate = (used, val_loss)
        if self.val_batch is not None:
            self.val_batch["val_loss"] = np.array(val_loss)
        return val_loss

    def set_lr(self, lr: float) -> None:
        self.lr = lr

    def get_lr(self) -> float:
        return self.lr

    def get_state(self) -> dict:
        return {
            "params": {k: v.copy() for k, v in self.params.items()},
            "grads": {k: None if v is None else v.copy() for k, v in self.grads.items()},
            "passes": self.passes,
            "lr": self.lr,
            "step_change": self.step_change,
        }

    def set_state(self, state: dict) -> None:
        self.params = {k: v.copy() for k, v in state["params"].items()}
        self.grads = {k: None if v is None else v.copy() for k, v in state["grads"].items()}
        self.passes = state["passes"]
        self.lr = state["lr"]
        self.step_change = state.get("step_change")
        self.val_batch = None
        self._new_iteration()  # a checkpoint is the start of an iteration: nothing ran in it yet

    def random_state(self) -> None:
        """Training draws no random numbers here (the batches' order is a seeded plan)."""
        return None

    def set_random_state(self, state: object) -> None:
        pass

    # ----- inspection ------------------------------------------------------------------------
    def training_frame(self, position: dict[str, int]) -> TrainingFrame:
        """The lesson's names: w and b, their grads, the batch, L and lr, as the code pane has them."""
        grads = self.grads

        def scalar(array):
            return None if array is None else float(array.reshape(-1)[0])

        names = {
            "w": scalar(self.params["w"]),
            "b": scalar(self.params["b"]),
            "w_grad": scalar(grads["w"]),
            "b_grad": scalar(grads["b"]),
            "x": self.x,
            "y": self.y,
            "pred": self.pred,
            "L": self.loss,
            "lr": self.lr,
            **position,
        }

        def write_back(changed) -> None:
            for key, value in changed.items():
                if key in ("w", "b"):
                    self.params[key][...] = float(value)
                elif key in ("w_grad", "b_grad"):
                    grads[key[0]] = None if value is None else np.array([float(value)])
                elif key == "lr":
                    self.lr = float(value)

        def fingerprint():
            return (
                tuple(float(v[0]) for v in self.params.values()),
                tuple(None if g is None else float(g[0]) for g in grads.values()),
                self.lr,
                tuple(None if a is None else a.tobytes() for a in (self.x, self.y, self.pred)),
            )

        return TrainingFrame(
            names=names,
            globals={"np": np},
            where="the lesson's loop (NumPy)",
            describe=lambda v: (
                (summarize_array(v), False) if isinstance(v, np.ndarray) and v.dtype.kind in "biuf" else None
            ),
            fingerprint=fingerprint,
            write_back=write_back,
            first=("w", "b", "w_grad", "b_grad", "x", "y", "pred", "L", "lr"),
        )

    def model_mode(self) -> str:
        return self.mode

    def grad_enabled(self) -> bool:
        return self.grad_mode

    def param_states(self, brief: bool = False) -> tuple[ParamState, ...]:
        """Full summaries, brief or not: a scenario's few small arrays cost next to nothing."""
        states = []
        change = self.step_change or {}
        batch_grads = self.record.batch_grads
        for name, value in self.params.items():
            grad = self.grads[name]
            moved = change.get(name)
            batch_grad = batch_grads.get(name)
            states.append(
                ParamState(
                    name=name,
                    shape=value.shape,
                    dtype=str(value.dtype),
                    value=summarize_array(value),
                    grad=None if grad is None else summarize_array(grad),
                    change=None if moved is None else summarize_array(moved),
                    batch_grad=None if batch_grad is None else summarize_array(batch_grad),
                )
            )
        return tuple(states)

    def tensors(self) -> dict[str, TensorSummary]:
        if self.val_batch is not None:  # the validate pause shows what validate ran on
            return {name: summarize_array(value) for name, value in self.val_batch.items()}
        out: dict[str, TensorSummary] = {}
        for name, value in (("x", self.x), ("y", self.y), ("pred", self.pred)):
            if value is not None:
                out[name] = summarize_array(value)
        if self.loss is not None:
            out["loss"] = summarize_array(np.array(self.loss))
        return out

    def tensor_values(self, name: str) -> np.ndarray | None:
        if name in self.params:
            return self.params[name].copy()
        if name.endswith(".grad") and name[:-5] in self.grads:
            grad = self.grads[name[:-5]]
            return None if grad is None else grad.copy()
        if self.val_batch is not None and name in self.val_batch:
            return np.array(self.val_batch[name], copy=True)
        value = {"x": self.x, "y": self.y, "pred": self.pred}.get(name)
        if value is None and name == "loss" and self.loss is not None:
            return np.array(self.loss)
        return None if value is None else np.array(value, copy=True)

    def export_arrays(self, names: Sequence[str], max_numel: int | None = None) -> dict:
        """Copies of the named tensors for a recording (summaries above ``max_numel`` elements)."""
        out: dict = {}
        for name in names:
            value = self.tensor_values(name)
            if value is not None and max_numel is not None and value.size > max_numel:
                value = summarize_array(value, keep=0)
            out[name] = value
        return out

    def export_packed(self, names: Sequence[str], max_numel: int | None = None) -> None:
        return None  # two scalars: the recorder exports them by name

    def trace(self) -> Trace:
        record = self.record
        return Trace(
            ops=tuple(self._ops), graph=graph(record), formulas=formulas(record), ops_recorded=self._recorded
        )
