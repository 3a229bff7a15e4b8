"""What a call of a clip function did to ``.grad``, in words: the clip phase's sentence (the
call itself is wrapped in :mod:`.hooks`).

Three functions clip: ``clip_grad_norm_`` and ``clip_grad_value_``, and, since torch 2.6,
``clip_grads_with_norm_`` with a total norm computed beforehand by ``get_total_norm`` (what
accelerate, and the transformers Trainer through it, call)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

#: The functions of ``torch.nn.utils`` that clip ``.grad``; the last may be missing (torch < 2.6).
CLIP_FUNCTIONS = ("clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_")


def _argument(args: tuple, kwargs: dict, index: int, *names: str, default: Any = None) -> Any:
    if len(args) > index:
        return args[index]
    for name in names:
        if name in kwargs:
            return kwargs[name]
    return default


def clip_description(name: str, params: list, args: tuple, kwargs: dict) -> Callable[[Any], str]:
    """The sentence of a call ``name(params, *args, **kwargs)``, given what it returned."""
    limit = _argument(args, kwargs, 0, "max_norm", "clip_value")
    if name == "clip_grads_with_norm_":
        total = _argument(args, kwargs, 1, "total_norm")
        return lambda result: clip_sentence(name, total, params, limit, norm_type=None)
    norm_type = _argument(args, kwargs, 1, "norm_type", default=2.0)
    return lambda result: clip_sentence(name, result, params, limit, norm_type)


def clip_sentence(name: str, before: Any, params: list, limit: Any, norm_type: Any) -> str:
    """``before``: the norm of ``.grad`` before the call (clip_grad_norm_ returns it);
    ``norm_type`` None: not known (a total norm computed elsewhere)."""
    if name == "clip_grad_value_":
        return f"clip_grad_value_ clamped every .grad into [-{limit:g}, {limit:g}]"
    before = float(before)
    if before <= float(limit):
        return f"‖.grad‖ {before:.4g} is within max_norm {limit:g}, so {name} left .grad as it was"
    if norm_type is None or float(norm_type) != 2.0:
        return f"{name} scaled every .grad: its norm {before:.4g} is now max_norm {limit:g}"
    grads = [p.grad for p in params if p.grad is not None]
    after = float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))) if grads else 0.0
    return f"{name} scaled every .grad: ‖.grad‖ {before:.4g} → {after:.4g} (max_norm {limit:g})"
