"""Watches a run's parameters between phases: their values, their ``.grad`` and how many
backward passes it holds, the batch tensors and the computation trace. Shared by the loops
loopstep owns (one model) and intercepted scripts (every model the script trains: a pause
shows them all, so a GAN's generator step never shows the discriminator's numbers as its own).

Nothing is installed on the user's objects: this batch's gradient is ``.grad`` after backward
minus ``.grad`` before, not a hook on each parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import Protocol

import numpy as np
import torch
from torch import nn

from ...engine.snapshot import ParamState
from ...engine.summary import TensorSummary
from ...engine.trace import GraphNode, Trace, TraceOp
from .graph import build_graph
from .norms import NormReader
from .packer import Packer, export_tensors
from .recorder import OpRecorder
from .stats import summarize_many

_GRAD = attrgetter("grad")


def clean_name(name: str) -> str:
    """torch.compile wraps the model as ``_orig_mod``: show the user's own names."""
    return name.replace("_orig_mod.", "")


class ParamList(Protocol):
    """The parameters a watch shows: (name shown, parameter), and a number that changes
    whenever the list does (a script's second model appeared)."""

    @property
    def named(self) -> list[tuple[str, nn.Parameter]]: ...

    @property
    def version(self) -> int: ...


class FixedParams:
    """The parameters of one model (a loop loopstep owns)."""

    version = 0

    def __init__(self, model: nn.Module) -> None:
        self.named = [(clean_name(n), p) for n, p in model.named_parameters()]


_NO_GRAD = (None, -1)


def _grad_keys(params: list[nn.Parameter]) -> list[tuple]:
    """What tells whether a backward changed each .grad: the tensor's identity and version.
    (One comprehension: this runs twice per backward in continue mode too.)"""
    return [_NO_GRAD if (g := p.grad) is None else (id(g), g._version) for p in params]


class OpsRecording:
    """The ops of one phase, recorded into a watch's trace."""

    def __init__(self, watch: RunWatch, recorder: OpRecorder) -> None:
        self.watch = watch
        self.recorder = recorder

    def __enter__(self) -> OpsRecording:
        self.recorder.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.recorder.__exit__(*exc)
        self._keep()

    def abandon(self) -> list:
        """Stop from inside a forward that raised; returns hook handles to remove later."""
        handles = self.recorder.abandon()
        self._keep()
        return handles

    def _keep(self) -> None:
        self.watch.ops.extend(self.recorder.ops)
        self.watch.ops_recorded = True


class RunWatch:
    def __init__(self, params: ParamList, model: nn.Module | None = None) -> None:
        self.params = params
        #: The model whose train()/eval() mode the status line shows: the one last called.
        self.model = model
        self._version = -1
        self.named: list[tuple[str, nn.Parameter]] = []
        self._by_name: dict[str, nn.Parameter] = {}
        self._sync()
        #: For export_arrays: NumPy views of CPU parameters (valid while their storage is the same).
        self._host_views: dict[str, tuple] = {}
        self._packers: dict[int, tuple] = {}
        self._norms = NormReader()  # a printed stream's brief summaries
        self._brief_last: dict[str, ParamState] = {}
        self.tensors_live: dict[str, torch.Tensor] = {}
        self.batch_grads: dict[str, torch.Tensor] = {}
        #: Backward passes each parameter's .grad holds (by id), since it was last cleared.
        self.passes: dict[int, int] = {}
        #: Each parameter's value before its optimizer's last step (kept until the next one).
        self.before_step: dict[str, torch.Tensor] = {}
        self._before_next: dict[str, torch.Tensor] = {}  # copies taken as a step starts
        self.ops: list[TraceOp] = []
        self.ops_recorded = False
        self.graph_root = None
        self.graph: GraphNode | None = None
        self.shown_mode: tuple[str, bool] | None = None
        #: The parameters the phase just run moved, by name (set at a step or an update; None
        #: at other phases).
        self.moved: frozenset[str] | None = None

    @property
    def params_version(self) -> int:
        self._sync()
        return self._version

    def _sync(self) -> None:
        if self.params.version != self._version:
            self._version = self.params.version
            self.named = list(self.params.named)
            self._by_name = dict(self.named)
            self._param_list = [p for _, p in self.named]
            self._packers = {}
            self._host_views = {}

    # ----- what the phases call -------------------------------------------------------------
    def new_batch(self) -> None:
        """A new batch: what the last one computed is not this one's."""
        self._sync()
        self.tensors_live = {}
        self.batch_grads = {}
        self.ops = []
        self.ops_recorded = False
        self.graph_root = None
        self.graph = None
        self.shown_mode = None

    def set_tensor(self, name: str, value: object) -> None:
        if isinstance(value, torch.Tensor):
            self.tensors_live[name] = value.detach()

    def recording(self, phase: str, module: nn.Module | None = None) -> OpsRecording:
        """Record the ops that run inside (a ``with`` block), tagged with the module they ran in."""
        return OpsRecording(self, OpRecorder(module or self.model or nn.Module(), phase, start=len(self.ops)))

    def keep_graph(self, tensor: torch.Tensor) -> None:
        """The tensor backward runs from: the trace's graph starts at its grad_fn."""
        self.graph_root = tensor.grad_fn

    def before_backward(self, *, detail: bool) -> tuple:
        """What .grad held before a backward pass: the keys that tell which grads it changed,
        and (with ``detail``) copies, to show this pass's own gradient."""
        self._sync()
        params = self._param_list
        keys = _grad_keys(params)
        held = None
        if detail:
            with torch.no_grad():
                held = [None if g is None else g.detach().clone() for g in map(_GRAD, params)]
        return keys, held

    def after_backward(self, before: tuple, *, detail: bool) -> list[nn.Parameter]:
        """Count the pass in each .grad it changed; returns those parameters (what it reached)."""
        keys, held = before
        params = self._param_list
        after = _grad_keys(params)
        passes = self.passes
        reached = [param for param, was, now in zip(params, keys, after) if was != now]
        for param in reached:
            passes[id(param)] = passes.get(id(param), 0) + 1
        if not detail:
            return reached
        batch: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            for (name, param), old, was, now in zip(self.named, held, keys, after):
                if was != now and param.grad is not None:
                    grad = param.grad.detach()
                    batch[name] = grad.clone() if old is None else grad - old
        self.batch_grads = batch
        names = {id(p): name for name, p in self.named}
        self.graph = build_graph(self.graph_root, names, batch)
        return reached

    def cleared(self, params: Sequence[torch.Tensor] | None = None) -> None:
        """zero_grad ran on these parameters (all of them when None): no pass is held."""
        if params is None:
            self.passes = {}
            return
        for param in params:
            self.passes.pop(id(param), None)

    def remember_before_step(self, params: Sequence[torch.Tensor]) -> None:
        """Copy these parameters as a step (or an update by hand) starts from them; the copies
        become their "Δ last step" only once it has moved them (the Δ shown until then, at an
        LBFGS closure's phases or before the update, is still the last step's)."""
        wanted = {id(p) for p in params}
        with torch.no_grad():
            for name, param in self.named:
                if id(param) in wanted:
                    self._before_next[name] = param.detach().clone()

    def stepped(self, params: Sequence[torch.Tensor], *, copied: bool) -> None:
        """An optimizer stepped these parameters; without a copy from before (continue mode)
        their Δ is unknown: an older copy would give a false one."""
        wanted = {id(p) for p in params}
        self.moved = frozenset(name for name, param in self.named if id(param) in wanted)
        staged = self._before_next
        for name in self.moved:
            if copied and name in staged:
                self.before_step[name] = staged.pop(name)
            else:
                self.before_step.pop(name, None)

    def show_validation(self, tensors: dict[str, object]) -> None:
        """The validate pause shows what validate ran on (its last batch and its loss)."""
        self.tensors_live = {}
        for name, value in tensors.items():
            self.set_tensor(name, value)

    # ----- inspection -----------------------------------------------------------------------
    def model_mode(self) -> str:
        if self.shown_mode is not None:
            return self.shown_mode[0]
        if self.model is None:
            return "train"
        return "train" if self.model.training else "eval"

    def grad_enabled(self) -> bool:
        if self.shown_mode is not None:
            return self.shown_mode[1]
        return torch.is_grad_enabled()

    def param_states(self, brief: bool = False) -> tuple[ParamState, ...]:
        self._sync()
        named = self.named
        values = [p for _, p in named]
        grads = list(map(_GRAD, values))
        if brief:
            return self._brief_states(values, grads)
        before = self.before_step
        with torch.no_grad():
            changes = [p.detach() - before[name] if name in before else None for name, p in named]
        batch = [self.batch_grads.get(name) for name, _ in named]
        summaries = summarize_many(values + grads + changes + batch)
        n = len(values)
        passes = self.passes
        moved = self.moved
        out = []
        for i, (name, param) in enumerate(named):
            out.append(
                ParamState(
                    name=name,
                    shape=tuple(param.shape),
                    dtype=str(param.dtype).removeprefix("torch."),
                    value=summaries[i],
                    grad=summaries[n + i],
                    change=summaries[2 * n + i],
                    batch_grad=summaries[3 * n + i],
                    grad_passes=passes.get(id(param), 0) if param.grad is not None else 0,
                    requires_grad=param.requires_grad,
                    moved=None if moved is None else name in moved,
                )
            )
        return tuple(out)

    def _brief_states(self, values: list[torch.Tensor], grads: list) -> tuple[ParamState, ...]:
        """Norms and small values only (a printed stream's); no Δ, no batch gradient. A
        parameter whose numbers did not change since the last phase keeps its last state."""
        summaries = self._norms.summaries(values + grads)
        n = len(values)
        passes = self.passes
        moved = self.moved
        last = self._brief_last
        out = []
        for i, (name, param) in enumerate(self.named):
            value, grad = summaries[i], summaries[n + i]
            held = passes.get(id(param), 0) if grad is not None else 0
            was_moved = None if moved is None else name in moved
            state = last.get(name)
            if (
                state is None
                or state.value is not value
                or state.grad is not grad
                or state.grad_passes != held
                or state.moved is not was_moved
                or state.requires_grad is not param.requires_grad
            ):
                state = ParamState(
                    name=name,
                    shape=value.shape,
                    dtype=value.dtype,
                    value=value,
                    grad=grad,
                    grad_passes=held,
                    requires_grad=param.requires_grad,
                    moved=was_moved,
                )
            out.append(state)
        self._brief_last = {state.name: state for state in out}
        return tuple(out)

    def tensors(self) -> dict[str, TensorSummary]:
        names = list(self.tensors_live)
        summaries = summarize_many([self.tensors_live[n] for n in names])
        return {n: s for n, s in zip(names, summaries) if s is not None}

    def tensor_values(self, name: str) -> np.ndarray | None:
        tensor = self.tensors_live.get(name)
        if tensor is None:
            params = self._by_name
            if name in params:
                tensor = params[name]
            elif name.endswith(".grad") and name[:-5] in params:
                tensor = params[name[:-5]].grad
        if tensor is None:
            return None
        return tensor.detach().to("cpu", torch.float64 if not tensor.is_complex() else None).numpy().copy()

    def export_arrays(self, names: Sequence[str], max_numel: int | None = None) -> dict:
        self._sync()
        return export_tensors(names, self.tensors_live, self._by_name, self._host_views, max_numel)

    def export_packed(
        self, names: Sequence[str], max_numel: int | None = None
    ) -> bytes | np.ndarray | str | None:
        """The named parameters (or their ``.grad``) as one flat array of raw bytes, in order
        (see :class:`~.packer.Packer`); None when they cannot be packed."""
        # Called at every phase with the same list: found by identity, not by hashing names.
        self._sync()
        entry = self._packers.get(id(names))
        if entry is None or entry[0] is not names or entry[1] != max_numel:
            if len(self._packers) >= 8:
                self._packers.clear()  # asked with passing lists: keep no more than a few
            entry = self._packers[id(names)] = (
                names,
                max_numel,
                Packer.build(self._by_name, tuple(names), max_numel),
            )
        packer = entry[2]
        return None if packer is None else packer.pack()

    def trace(self) -> Trace:
        return Trace(ops=tuple(self.ops), graph=self.graph, ops_recorded=self.ops_recorded)
