"""The variables pane's rows (pudb's): the training frame's names, tensors first, each on one
line, and what a row opens into (a model's children and parameters, a dict's items).

Built in the training thread while it is paused; the rows are plain data. A row is found
again by its path (its name, then the labels of the parts it was opened through).
"""

from __future__ import annotations

import inspect
import types
from dataclasses import dataclass
from typing import Any

from .summary import TensorSummary
from .tensor_line import tensor_line
from .training_frame import TrainingFrame

#: Most parts one row opens into (a list of a million items shows the first ones).
MOST_PARTS = 200
#: Kinds in the order the pane lists them.
ORDER = ("tensor", "module", "number", "other")


@dataclass(frozen=True)
class Variable:
    name: str
    path: tuple[str, ...]
    kind: str  # one of ORDER
    type_name: str
    #: The one line, for a tensor fitted to the pane's width from ``summary``.
    text: str
    summary: TensorSummary | None = None
    requires_grad: bool = False
    expandable: bool = False

    def line(self, width: int | None = None) -> str:
        if self.summary is not None:
            return tensor_line(self.summary, width, grad=self.requires_grad)
        return self.text if width is None or len(self.text) <= width else self.text[: max(0, width - 1)] + "…"


def _hidden(name: str, value: Any) -> bool:
    """Names that are not the training's: dunders, imported modules, functions, classes."""
    return (
        name.startswith("__")
        or isinstance(value, types.ModuleType)
        or inspect.isroutine(value)
        or inspect.isclass(value)
    )


def frame_variables(frame: TrainingFrame) -> list[Variable]:
    """The frame's own names (for a script's top level, its globals), tensors first."""
    rows = [
        _row(frame, name, (name,), value) for name, value in frame.names.items() if not _hidden(name, value)
    ]
    first = {name: i for i, name in enumerate(frame.first)}
    rows.sort(key=lambda v: (v.name not in first, first.get(v.name, 0), ORDER.index(v.kind), v.name))
    return rows


def parts_of(frame: TrainingFrame, path: tuple[str, ...]) -> list[Variable]:
    """The rows ``path`` opens into; [] when it no longer leads anywhere (the frame moved on)."""
    found, value = _follow(frame, path)
    if not found:
        return []
    return [_row(frame, label, (*path, label), part) for label, part in _parts(frame, value)[:MOST_PARTS]]


def _follow(frame: TrainingFrame, path: tuple[str, ...]) -> tuple[bool, Any]:
    if not path or path[0] not in frame.names:
        return False, None
    value = frame.names[path[0]]
    for label in path[1:]:
        parts = dict(_parts(frame, value))
        if label not in parts:
            return False, None
        value = parts[label]
    return True, value


def _parts(frame: TrainingFrame, value: Any) -> list[tuple[str, Any]]:
    special = frame.expand(value)
    if special is not None:
        return special
    if isinstance(value, dict):
        return [(repr(k), v) for k, v in list(value.items())[:MOST_PARTS]]
    if isinstance(value, list | tuple):
        return [(f"[{i}]", v) for i, v in enumerate(value[:MOST_PARTS])]
    attributes = getattr(value, "__dict__", None)
    if isinstance(attributes, dict) and not isinstance(value, type):
        return [(k, v) for k, v in attributes.items() if not k.startswith("_")][:MOST_PARTS]
    return []


def _row(frame: TrainingFrame, name: str, path: tuple[str, ...], value: Any) -> Variable:
    type_name = type(value).__name__
    tensor = frame.describe(value)
    if tensor is not None:
        summary, grad = tensor
        return Variable(name, path, "tensor", type_name, tensor_line(summary, grad=grad), summary, grad)
    if isinstance(value, bool | int | float | complex):
        return Variable(name, path, "number", type_name, repr(value))
    expandable = bool(_parts(frame, value)) if not isinstance(value, str | bytes) else False
    kind = "module" if frame.expand(value) is not None else "other"
    try:
        text = repr(value)
    except Exception as exc:  # noqa: BLE001 - a broken __repr__ is the user's
        text = f"<repr failed: {type(exc).__name__}>"
    first = text.splitlines()[0] if text else ""
    if "\n" in text or isinstance(value, dict | list | tuple):
        first = f"{type_name}" + (f" ({len(value)})" if hasattr(value, "__len__") else "")
    return Variable(name, path, kind, type_name, first[:200], expandable=expandable)
