"""Records the ops of forward and loss in order, with the module each ran inside.

Only used when a pause is likely (stepping mode); continue mode records nothing.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from ...engine.summary import fmt
from ...engine.trace import TraceOp

#: A forward with more ops than this keeps the first ones and says how many it dropped.
MAX_OPS = 2000
#: Outputs up to this size get a mean in their summary (it costs a host sync each).
SUMMARY_NUMEL = 1 << 20
_SKIP = {
    "__get__",
    "__set__",
    "size",
    "dim",
    "numel",
    "__len__",
    "is_floating_point",
    "detach",
    "item",
    "requires_grad_",
    "data_ptr",
    "__format__",
    "__repr__",
    "tolist",
    "__bool__",
    "__index__",
    "is_complex",
    "__hash__",
    "stride",
    "is_contiguous",
    "element_size",
    "__iter__",
    "type",
}


def _shape(value) -> tuple[int, ...] | None:
    if isinstance(value, torch.Tensor):
        return tuple(int(d) for d in value.shape)
    return None


class OpRecorder(TorchFunctionMode):
    def __init__(self, model: nn.Module, phase: str, start: int = 0) -> None:
        super().__init__()
        self.phase = phase
        self.ops: list[TraceOp] = []
        self.dropped = 0
        self._index = start
        self._paths = {id(m): name for name, m in model.named_modules()}
        self._stack: list[str] = []
        self._handles: list = []

    def __enter__(self):
        from torch.nn.modules import module as module_api

        self._handles = [
            module_api.register_module_forward_pre_hook(self._enter_module),
            module_api.register_module_forward_hook(self._leave_module, always_call=True),
        ]
        return super().__enter__()

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()
        self._handles = []
        return super().__exit__(*exc)

    def abandon(self) -> list:
        """Stop recording now, from inside torch's own loop over the global forward hooks (a
        forward that raised runs them as it unwinds): removing a hook there would raise
        "OrderedDict mutated during iteration" in place of the user's error. The hooks go
        inert now; the caller removes the handles returned once that loop is over."""
        self._inert = True
        handles, self._handles = self._handles, []
        super().__exit__(None, None, None)
        return handles

    _inert = False

    def _enter_module(self, module, args):
        if not self._inert:
            self._stack.append(self._paths.get(id(module), type(module).__name__))

    def _leave_module(self, module, args, output):
        if self._stack and not self._inert:
            self._stack.pop()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = getattr(func, "__name__", None) or str(func)
        if name in _SKIP or not isinstance(out, torch.Tensor | tuple):
            return out
        if len(self.ops) >= MAX_OPS:
            self.dropped += 1
            return out
        first = out[0] if isinstance(out, tuple) and out else out
        if not isinstance(first, torch.Tensor):
            return out
        inputs = tuple(s for s in (_shape(a) for a in list(args) + list(kwargs.values())) if s is not None)
        summary = ""
        if first.numel() and first.numel() <= SUMMARY_NUMEL and (first.is_floating_point()):
            with torch.no_grad():
                summary = f"μ={fmt(float(first.detach().float().mean()))}"
        self.ops.append(
            TraceOp(
                index=self._index,
                op=name.removeprefix("_").replace("_forward", ""),
                inputs=inputs,
                output=_shape(first) or (),
                summary=summary,
                module=self._stack[-1] if self._stack else "",
                phase=self.phase,
            )
        )
        self._index += 1
        return out
