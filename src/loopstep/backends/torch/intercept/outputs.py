"""What a model call returned: its first tensor (the prediction shown as ``pred``), and
whether a tensor is among the values returned (a loss computed inside ``forward``)."""

from __future__ import annotations

from typing import Any

import torch


def first_tensor(value: Any) -> torch.Tensor | None:
    """The first tensor in a model's input or output (a tensor, a tuple, a dict...)."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, list | tuple):
        for item in value:
            found = first_tensor(item)
            if found is not None:
                return found
    if isinstance(value, dict):
        for item in value.values():
            found = first_tensor(item)
            if found is not None:
                return found
    loss = getattr(value, "logits", None)  # a transformers ModelOutput: logits first
    return loss if isinstance(loss, torch.Tensor) else None


def holds(output: Any, tensor: torch.Tensor) -> bool:
    """Whether ``tensor`` is one of the values a forward returned (a tuple, a dict, a
    ModelOutput with ``.loss``)."""
    if output is tensor:
        return True
    if isinstance(output, list | tuple):
        return any(item is tensor for item in output)
    if isinstance(output, dict):
        return any(item is tensor for item in output.values())
    return getattr(output, "loss", None) is tensor


def returned_loss(output: Any, inner: torch.Tensor | None) -> torch.Tensor | None:
    """The loss a model computed inside its forward and returned: the loss function's own
    result, or, where the model went on from it (transformers divides a summed cross-entropy
    by the tokens of the whole accumulation window), the scalar it returns as ``loss`` (a
    ModelOutput's ``.loss``, a dict's ``"loss"``, the one scalar of a tuple). None when no loss
    function ran inside the forward."""
    if inner is None:
        return None
    if holds(output, inner):
        return inner
    if isinstance(output, dict):
        candidate = output.get("loss")
    elif isinstance(output, list | tuple):
        scalars = [item for item in output if _is_scalar(item)]
        candidate = scalars[0] if len(scalars) == 1 else None
    else:
        candidate = getattr(output, "loss", None)
    return candidate if _is_scalar(candidate) else None


def _is_scalar(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and value.dim() == 0 and value.is_floating_point()
