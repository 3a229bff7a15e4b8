"""Cheap questions about a run's torch models, for stop conditions and diagnostics.

Shared by the loops loopstep owns and intercepted scripts: give it the run's parameters (a
ParamList: one model, or every model a script trains), the modules whose outputs to watch
and the optimizers. Norms come from ``torch._foreach_norm`` over all tensors at once, copied
to the host in one go.

Nothing is put on the user's objects: the activation and update watches are torch's *global*
module and optimizer hooks, which exist only while a condition asks for them and filter for
this run's modules and optimizers. A hook on the model itself would travel with it into
``torch.save(model)`` and ``pickle`` (and fail there), and change what ``torch.compile``
guards on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn
from torch.nn.modules import module as module_api
from torch.optim import optimizer as optimizer_api

from ...engine.probes import ForwardFacts
from .norms import NormReader, all_finite, fused_norms
from .watch import ParamList, clean_name

_is_compiling = torch.compiler.is_compiling


def _tensors_in(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors_in(v)]
    return []


def _extremes(value: Any) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The smallest and largest float value in ``value``, as tensors (None: it holds none).

    NaN and Inf carry into them, so they are all finite exactly when every value is: one
    fused reduction, where ``isfinite(t).all()`` costs three passes and ~4x the time.
    """
    if isinstance(value, torch.Tensor):  # the usual module output: no list, no stack
        if (value.is_floating_point() or value.is_complex()) and value.numel():
            return torch.aminmax(value.detach() if not value.is_complex() else value.detach().abs())
        return None
    found = [_extremes(t) for t in _tensors_in(value)]
    found = [pair for pair in found if pair is not None]
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    return torch.stack([lo for lo, _ in found]).min(), torch.stack([hi for _, hi in found]).max()


class TorchProbe:
    def __init__(
        self,
        params: ParamList,
        models: Callable[[], Iterable[nn.Module]],
        optimizers: Callable[[], Iterable[torch.optim.Optimizer]] = tuple,
    ) -> None:
        """``models()`` and ``optimizers()`` give the run's current ones (a script adds some
        as it goes)."""
        self.params = params
        self.models = models
        self.optimizers = optimizers
        self._forward: ForwardFacts | None = None
        self._flags: list[tuple[str, torch.Tensor]] = []
        self._nonfinite_handles: list[Any] = []
        self._update_handles: list[Any] = []
        #: Which watches were on when the source fell asleep (they come back on when it wakes).
        self._suspended = (False, False)
        self._paths: dict[int, str] = {}
        self._roots: set[int] = set()
        self._indexed = -1  # the params version the module paths were taken at
        self._before: list[torch.Tensor] | None = None
        self._ratio: torch.Tensor | None = None
        # The parameters' norms, read at each step a NaN condition checks: kept NumPy views.
        self._param_norms = NormReader()

    @property
    def named(self) -> list[tuple[str, nn.Parameter]]:
        return self.params.named

    # ----- facts ------------------------------------------------------------------------------
    def note_forward(self, training: bool, output: Any) -> None:
        """A loop loopstep owns ran its forward: how it ran (a script's come from its facts)."""
        graph = torch.is_grad_enabled() and any(t.requires_grad for t in _tensors_in(output))
        self._forward = ForwardFacts(training=training, builds_graph=graph)

    def forward_facts(self) -> ForwardFacts | None:
        return self._forward

    def loader_findings(self) -> list:
        return []  # a loop loopstep owns reads its batches itself

    def searches_unused(self) -> bool:
        from torch.nn.parallel import DistributedDataParallel

        return any(
            isinstance(model, DistributedDataParallel) and model.find_unused_parameters
            for model in self.models()
        )

    def unused_forwards(self) -> list:
        return []  # a loop loopstep owns runs a backward after every training forward (scripts: ScriptProbe)

    def grad_norms(self) -> dict[str, float]:
        present = [(name, p.grad) for name, p in self.named if p.grad is not None]
        if not present:
            return {}
        return dict(zip([n for n, _ in present], fused_norms([g for _, g in present])))

    def stepped_grad_norms(self, optimizer: str) -> dict[str, float]:
        return self.grad_norms()  # a loop loopstep owns has one optimizer

    def trainable(self) -> tuple[str, ...]:
        return tuple(name for name, p in self.named if p.requires_grad)

    def missing_grads(self, optimizer: str) -> tuple[str, ...]:
        return tuple(name for name, p in self.named if p.requires_grad and p.grad is None)

    def not_in_optimizer(self) -> tuple[str, ...]:
        optimizers = list(self.optimizers())
        if not optimizers:
            return ()
        known = {id(p) for o in optimizers for g in o.param_groups for p in g["params"]}
        return tuple(name for name, p in self.named if p.requires_grad and id(p) not in known)

    def mode_layers(self) -> tuple[str, ...]:
        kinds = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)
        return tuple(
            f"{clean_name(n) or 'model'} ({type(m).__name__})"
            for model in self.models()
            for n, m in model.named_modules()
            if isinstance(m, kinds)
        )

    def params_finite(self) -> bool:
        values = [p for _, p in self.named]
        # A finite norm means finite values; a norm that overflowed is judged again by each value.
        suspects = [p for p, norm in zip(values, self._param_norms.norms(values)) if not math.isfinite(norm)]
        return all_finite([p.detach() for p in suspects])

    def nonfinite_grads(self) -> tuple[str, ...]:
        present = [(name, p.grad) for name, p in self.named if p.grad is not None]
        norms = fused_norms([g for _, g in present])
        return tuple(
            n for (n, g), norm in zip(present, norms) if not math.isfinite(norm) and not all_finite([g])
        )

    def grads_cleared(self) -> bool:
        grads = [p.grad for _, p in self.named if p.grad is not None]
        return not grads or not any(fused_norms(grads))

    # ----- the activation watch (only while a NaN condition is set) ---------------------------
    def watch_nonfinite(self, on: bool) -> None:
        if on and not self._nonfinite_handles:
            self._index_modules()
            self._nonfinite_handles = [
                module_api.register_module_forward_pre_hook(self._before_forward),
                module_api.register_module_forward_hook(self._after_module, always_call=True),
            ]
        elif not on:
            for handle in self._nonfinite_handles:
                handle.remove()
            self._nonfinite_handles = []
            self._flags = []

    def _index_modules(self) -> None:
        self._indexed = self.params.version
        self._paths, self._roots = {}, set()
        for model in self.models():
            self._roots.add(id(model))
            for name, module in model.named_modules():
                self._paths.setdefault(id(module), clean_name(name) or "model")

    def _before_forward(self, module: nn.Module, args: Any) -> None:
        if _is_compiling():
            return
        if self.params.version != self._indexed:
            self._index_modules()  # a model appeared since
        if id(module) not in self._roots:
            return
        self._flags = []
        flag = _extremes(args)
        if flag is not None:
            self._flags.append(("input", flag))

    def _after_module(self, module: nn.Module, args: Any, output: Any) -> None:
        # Runs after every module call of a forward: two torch calls for a tensor output, no
        # sync (the flags are read once, at the forward's pause).
        if _is_compiling():
            return
        label = self._paths.get(id(module))
        if label is None:
            return
        flag = _extremes(output)
        if flag is not None:
            self._flags.append((label, flag))

    def nonfinite_module(self) -> str | None:
        if not self._flags:
            return None
        by_device: dict[torch.device, list[int]] = {}
        for i, (_, (lo, _)) in enumerate(self._flags):
            by_device.setdefault(lo.device, []).append(i)
        finite = [True] * len(self._flags)
        for indices in by_device.values():
            extremes = torch.stack([x for i in indices for x in self._flags[i][1]])
            # NaN/Inf carry into the sum (in float64, which a float32 value cannot overflow).
            if math.isfinite(extremes.double().sum().item()):
                continue  # the usual answer: one sum, one copy to the host
            ok = torch.isfinite(extremes).view(-1, 2).all(dim=1)
            for i, v in zip(indices, ok.cpu().tolist()):
                finite[i] = bool(v)
        # Innermost first: a submodule's output is flagged before its parent's.
        for (label, _), is_finite in zip(self._flags, finite):
            if not is_finite:
                return label
        return None

    # ----- the update watch (only while an update-ratio condition is set) ---------------------
    def watch_updates(self, on: bool) -> None:
        if on and not self._update_handles:
            self._update_handles = [
                optimizer_api.register_optimizer_step_pre_hook(self._before_step),
                optimizer_api.register_optimizer_step_post_hook(self._after_step),
            ]
        elif not on:
            for handle in self._update_handles:
                handle.remove()
            self._update_handles = []
            self._before = None

    def _ours(self, optimizer: Any) -> bool:
        return any(o is optimizer for o in self.optimizers())

    def _params(self) -> list[torch.Tensor]:
        return [p.detach() for _, p in self.named if p.requires_grad]

    def _before_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if _is_compiling() or not self._ours(optimizer):
            return
        with torch.no_grad():
            self._before = [p.clone() for p in self._params()]

    def _after_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if self._before is None or _is_compiling() or not self._ours(optimizer):
            return
        with torch.no_grad():
            params = self._params()
            deltas = torch._foreach_sub(params, self._before)
            moved = torch.stack([n.to(torch.float64) for n in torch._foreach_norm(deltas)]).norm()
            size = torch.stack([n.to(torch.float64) for n in torch._foreach_norm(params)]).norm()
            self._ratio = moved / size.clamp_min(1e-30)
        self._before = None

    def update_ratio(self) -> float | None:
        return None if self._ratio is None else float(self._ratio)

    def stale_grads(self) -> list[str] | None:
        return None  # a loop loopstep owns: the phases tell it all (scripts: ScriptProbe)

    def suspend_watches(self, suspended: bool) -> None:
        """The source sleeps (suspended) or wakes: the watches' hooks come off and back on."""
        if suspended:
            self._suspended = (bool(self._nonfinite_handles), bool(self._update_handles))
            self.watch_nonfinite(False)
            self.watch_updates(False)
            return
        nonfinite, updates = self._suspended
        self._suspended = (False, False)
        if nonfinite:
            self.watch_nonfinite(True)
        if updates:
            self.watch_updates(True)

    def close(self) -> None:
        """Remove the watches' hooks (the run is over)."""
        self.watch_nonfinite(False)
        self.watch_updates(False)
