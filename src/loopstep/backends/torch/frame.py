"""What an expression at a pause needs from torch: a tensor's summary, the run's fingerprint
(to tell when an expression changed the run) and a context that leaves the run as it was."""

from __future__ import annotations

import ctypes
import random
import sys
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import FrameType
from typing import Any

import numpy as np
import torch
from torch import nn

from ...engine.summary import TensorSummary, summarize_array
from .stats import summarize


def describe(value: Any) -> tuple[TensorSummary, bool] | None:
    """A tensor (or a NumPy array of numbers) as its summary and whether it requires grad."""
    if isinstance(value, torch.Tensor):
        if value.is_sparse or value.is_meta:
            return None
        return summarize(value.detach()), bool(value.requires_grad)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return summarize_array(value), False
    return None


def expand(value: Any) -> list[tuple[str, Any]] | None:
    """What a model opens into in the variables pane: its children, then its own parameters
    and buffers; an optimizer: its param groups' settings and how much state it holds."""
    if isinstance(value, nn.Module):
        parts: list[tuple[str, Any]] = list(value.named_children())
        parts += list(value.named_parameters(recurse=False))
        parts += list(value.named_buffers(recurse=False))
        return parts
    if isinstance(value, torch.optim.Optimizer):
        groups = [{k: v for k, v in group.items() if k != "params"} for group in value.param_groups]
        return [("param_groups", groups), ("state", {"parameters with state": len(value.state)})]
    return None


def fingerprint(
    modules: Iterable[nn.Module], optimizers: Iterable[torch.optim.Optimizer], tensors: Iterable[Any] = ()
) -> Hashable:
    """Changes when anything the run trains with does: a parameter's or buffer's values (torch
    counts in-place changes in ``_version``), a ``.grad`` set, replaced or changed, a module's
    train/eval mode, an optimizer's learning rate or state."""
    marks: list = []
    for module in modules:
        for sub in module.modules():
            marks.append(sub.training)
        for param in module.parameters():
            grad = param.grad
            marks.append((id(param), param._version, id(grad), grad._version if grad is not None else -1))
        for buffer in module.buffers():
            marks.append((id(buffer), buffer._version))
    for optimizer in optimizers:
        marks.append(tuple(group.get("lr") for group in optimizer.param_groups))
        marks.append(len(optimizer.state))
    for tensor in tensors:  # the frame's own tensors (the batch): an in-place change counts too
        if isinstance(tensor, torch.Tensor):
            marks.append((id(tensor), tensor._version))
    return tuple(marks)


@contextmanager
def same_random_numbers() -> Iterator[None]:
    """Random numbers drawn inside (``torch.randn`` at the prompt) leave the run's generators
    where they were: the next dropout mask or batch order is the one it would have been."""
    cpu = torch.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    python = random.getstate()
    numpy = np.random.get_state()
    try:
        yield
    finally:
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)
        random.setstate(python)
        np.random.set_state(numpy)


def frame_write_back(frame: FrameType) -> Callable[[Mapping[str, Any]], None]:
    """A statement's assignments put into a live frame's locals (a module's are its globals)."""

    def write_back(changed: Mapping[str, Any]) -> None:
        if frame.f_locals is frame.f_globals:  # the script's top level
            frame.f_globals.update(changed)
            return
        local_names = (
            set(frame.f_code.co_varnames) | set(frame.f_code.co_cellvars) | set(frame.f_code.co_freevars)
        )
        names = {k: v for k, v in changed.items() if k in local_names}
        if sys.version_info >= (3, 13):  # f_locals writes through (PEP 667)
            for key, value in names.items():
                frame.f_locals[key] = value
        elif names:
            locals_dict = frame.f_locals
            locals_dict.update(names)
            ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(0))
        frame.f_globals.update({k: v for k, v in changed.items() if k not in local_names})

    return write_back
