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
