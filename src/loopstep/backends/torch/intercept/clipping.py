"""What a call of ``clip_grad_norm_`` or ``clip_grad_value_`` did to ``.grad``, in words: the
clip phase's sentence (the call itself is wrapped in :mod:`.hooks`)."""

from __future__ import annotations

from typing import Any

import torch


def clip_sentence(name: str, result: Any, params: list, limit: Any, norm_type: Any) -> str:
    """``result``: what the clip function returned (clip_grad_norm_: the norm before)."""
    if name == "clip_grad_value_":
        return f"clip_grad_value_ clamped every .grad into [-{limit:g}, {limit:g}]"
    before = float(result)
    if before <= float(limit):
        return f"‖.grad‖ {before:.4g} is within max_norm {limit:g}, so clip_grad_norm_ left .grad as it was"
    if float(norm_type) != 2.0:
        return f"clip_grad_norm_ scaled every .grad: its norm {before:.4g} is now max_norm {limit:g}"
    grads = [p.grad for p in params if p.grad is not None]
    after = float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))) if grads else 0.0
    return f"clip_grad_norm_ scaled every .grad: ‖.grad‖ {before:.4g} → {after:.4g} (max_norm {limit:g})"
