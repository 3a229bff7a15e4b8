"""Cheap questions about a torch model for stop conditions and diagnostics.

Shared by the loops loopstep owns and intercepted scripts: give it the model and the
optimizers it knows. Norms are computed with ``torch._foreach_norm`` over all tensors at
once and copied to the host in one go; the activation and update watches are hooks that
exist only while a condition asks for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from ...engine.probes import ForwardFacts
from .watch import clean_name


def _tensors_in(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors_in(v)]
    return []


def _norms(tensors: list[torch.Tensor]) -> list[float]:
    """One fused norm per (device, dtype) group and one host copy per group."""
    groups: dict[tuple[torch.device, torch.dtype], list[int]] = {}
    for i, t in enumerate(tensors):
        groups.setdefault((t.device, t.dtype), []).append(i)
    if len(groups) == 1:
        with torch.no_grad():
            return torch.stack(torch._foreach_norm(tensors)).tolist()
    out: list[float] = [0.0] * len(tensors)
    with torch.no_grad():
        for indices in groups.values():
            values = torch.stack(torch._foreach_norm([tensors[i] for i in indices])).tolist()
            for i, v in zip(indices, values):
                out[i] = v
    return out


class TorchProbe:
    def __init__(self, model: nn.Module, optimizers: Iterable[torch.optim.Optimizer] = ()) -> None:
        self.model = model
        self.optimizers: list[torch.optim.Optimizer] = []
        self.named = [(clean_name(n), p) for n, p in model.named_parameters()]
        self._forward: ForwardFacts | None = None
        model.register_forward_hook(self._after_root_forward)
        self._flags: list[tuple[str, torch.Tensor]] = []
        self._nonfinite_handles: list[Any] = []
        self._update_handles: list[Any] = []
        self._before: list[torch.Tensor] | None = None
        self._ratio: torch.Tensor | None = None
        for optimizer in optimizers:
            self.add_optimizer(optimizer)

    def add_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        if all(o is not optimizer for o in self.optimizers):
            self.optimizers.append(optimizer)
            if self._update_handles:
                self._hook_updates(optimizer)

    # ----- facts ------------------------------------------------------------------------------
    def _after_root_forward(self, module: nn.Module, args: Any, output: Any) -> None:
        outputs = _tensors_in(output)
        graph = torch.is_grad_enabled() and any(t.requires_grad for t in outputs)
        self._forward = ForwardFacts(training=module.training, builds_graph=graph)

    def forward_facts(self) -> ForwardFacts | None:
        return self._forward

    def grad_norms(self) -> dict[str, float]:
        present = [(name, p.grad) for name, p in self.named if p.grad is not None]
        if not present:
            return {}
        return dict(zip([n for n, _ in present], _norms([g for _, g in present])))

    def trainable(self) -> tuple[str, ...]:
        return tuple(name for name, p in self.named if p.requires_grad)

    def not_in_optimizer(self) -> tuple[str, ...]:
        if not self.optimizers:
            return ()
        known = {id(p) for o in self.optimizers for g in o.param_groups for p in g["params"]}
        return tuple(name for name, p in self.named if p.requires_grad and id(p) not in known)

    def mode_layers(self) -> tuple[str, ...]:
        kinds = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)
        return tuple(
            f"{clean_name(n) or 'model'} ({type(m).__name__})"
            for n, m in self.model.named_modules()
            if isinstance(m, kinds)
        )

    def params_finite(self) -> bool:
        values = [p.detach() for _, p in self.named]
        return all(v == v and abs(v) != float("inf") for v in _norms(values)) if values else True

    def grads_cleared(self) -> bool:
        grads = [p.grad for _, p in self.named if p.grad is not None]
        return not grads or not any(_norms(grads))

    # ----- the activation watch (only while a NaN condition is set) ---------------------------
    def watch_nonfinite(self, on: bool) -> None:
        if on and not self._nonfinite_handles:
            self._nonfinite_handles.append(self.model.register_forward_pre_hook(self._before_forward))
            for name, module in self.model.named_modules():
                self._nonfinite_handles.append(module.register_forward_hook(self._flagger(name)))
        elif not on:
            for handle in self._nonfinite_handles:
                handle.remove()
            self._nonfinite_handles = []
            self._flags = []

    def _before_forward(self, module: nn.Module, args: Any) -> None:
        self._flags = []
        inputs = [t for t in _tensors_in(args) if t.is_floating_point() or t.is_complex()]
        if inputs:
            bad = torch.stack([~torch.isfinite(t).all() for t in inputs]).any()
            self._flags.append(("input", bad))

    def _flagger(self, name: str):
        label = clean_name(name) or "model"

        def flag(module: nn.Module, args: Any, output: Any) -> None:
            outs = [t for t in _tensors_in(output) if t.is_floating_point() or t.is_complex()]
            if outs:
                with torch.no_grad():
                    bad = torch.stack([~torch.isfinite(t.detach()).all() for t in outs]).any()
                self._flags.append((label, bad))

        return flag

    def nonfinite_module(self) -> str | None:
        if not self._flags:
            return None
        by_device: dict[torch.device, list[int]] = {}
        for i, (_, flag) in enumerate(self._flags):
            by_device.setdefault(flag.device, []).append(i)
        bad = [False] * len(self._flags)
        for indices in by_device.values():
            values = torch.stack([self._flags[i][1] for i in indices]).cpu().tolist()
            for i, v in zip(indices, values):
                bad[i] = bool(v)
        for (label, _), is_bad in zip(self._flags, bad):
            if is_bad:
                return label
        return None

    # ----- the update watch (only while an update-ratio condition is set) ---------------------
    def watch_updates(self, on: bool) -> None:
        if on and not self._update_handles:
            for optimizer in self.optimizers:
                self._hook_updates(optimizer)
        elif not on:
            for handle in self._update_handles:
                handle.remove()
            self._update_handles = []
            self._before = None

    def _hook_updates(self, optimizer: torch.optim.Optimizer) -> None:
        self._update_handles.append(optimizer.register_step_pre_hook(self._before_step))
        self._update_handles.append(optimizer.register_step_post_hook(self._after_step))

    def _params(self) -> list[torch.Tensor]:
        return [p.detach() for _, p in self.named if p.requires_grad]

    def _before_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        with torch.no_grad():
            self._before = [p.clone() for p in self._params()]

    def _after_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if self._before is None:
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


class ScriptProbe:
    """The probe of an intercepted script: its model and optimizers appear only as the
    script creates them, so the torch probe is made on first need and the facts the
    interception keeps (``source.facts``: models, optimizers, forwards) fill in the rest."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self._probe: TorchProbe | None = None
        self._watches = {"nonfinite": False, "updates": False}

    def _model_probe(self) -> TorchProbe | None:
        facts = getattr(self.source, "facts", None)
        models = getattr(facts, "models", None)
        if self._probe is None and models:
            self._probe = TorchProbe(models[0], getattr(facts, "optimizers", ()))
            self._probe.watch_nonfinite(self._watches["nonfinite"])
            self._probe.watch_updates(self._watches["updates"])
        if self._probe is not None and facts is not None:
            for optimizer in getattr(facts, "optimizers", ()):
                self._probe.add_optimizer(optimizer)
        return self._probe

    def grad_norms(self) -> dict[str, float]:
        probe = self._model_probe()
        return probe.grad_norms() if probe is not None else {}

    def trainable(self) -> tuple[str, ...]:
        probe = self._model_probe()
        return probe.trainable() if probe is not None else ()

    def not_in_optimizer(self) -> tuple[str, ...]:
        probe = self._model_probe()
        return probe.not_in_optimizer() if probe is not None else ()

    def mode_layers(self) -> tuple[str, ...]:
        probe = self._model_probe()
        return probe.mode_layers() if probe is not None else ()

    def forward_facts(self) -> ForwardFacts | None:
        forwards = getattr(getattr(self.source, "facts", None), "forwards", None)
        if not forwards:
            return None
        last = forwards[-1]
        return ForwardFacts(training=last.training, builds_graph=last.grad_enabled)

    def params_finite(self) -> bool:
        probe = self._model_probe()
        return probe.params_finite() if probe is not None else True

    def grads_cleared(self) -> bool:
        probe = self._model_probe()
        return probe.grads_cleared() if probe is not None else True

    def watch_nonfinite(self, on: bool) -> None:
        self._watches["nonfinite"] = on
        if self._probe is not None:
            self._probe.watch_nonfinite(on)

    def nonfinite_module(self) -> str | None:
        probe = self._model_probe()
        return probe.nonfinite_module() if probe is not None else None

    def watch_updates(self, on: bool) -> None:
        self._watches["updates"] = on
        if self._probe is not None:
            self._probe.watch_updates(on)

    def update_ratio(self) -> float | None:
        probe = self._model_probe()
        return probe.update_ratio() if probe is not None else None
