"""Watches one torch model between phases: its parameters, gradients, batch tensors and
the computation trace. Shared by the loops loopstep owns and by intercepted scripts."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from operator import attrgetter, methodcaller

import numpy as np
import torch
from torch import nn

from ...engine.recording.format import ALLOWED_DTYPES
from ...engine.snapshot import ParamState
from ...engine.summary import TensorSummary
from ...engine.trace import GraphNode, Trace, TraceOp
from .graph import build_graph
from .recorder import OpRecorder
from .stats import summarize_many

#: Dtypes a packed block may hold: real ones the recording reader accepts (others go name by
#: name, converted to float64).
_PACKABLE = frozenset(d for d in ALLOWED_DTYPES if not d.startswith("complex"))

#: Dtypes NumPy has no twin for: exported as float32.
_NO_NUMPY_TWIN = frozenset(
    {torch.bfloat16, *(getattr(torch, n) for n in ("float8_e4m3fn", "float8_e5m2") if hasattr(torch, n))}
)


# The packer reads these of every parameter at every phase it runs: map() with these runs in C,
# where a comprehension or generator is a Python frame of its own.
_GRAD = attrgetter("grad")
_DTYPE = attrgetter("dtype")
_DATA_PTR = methodcaller("data_ptr")


def clean_name(name: str) -> str:
    """torch.compile wraps the model as ``_orig_mod``: show the user's own names."""
    return name.replace("_orig_mod.", "")


class ModelWatch:
    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.named = [(clean_name(n), p) for n, p in model.named_parameters()]
        self._by_name = dict(self.named)
        #: For export_arrays: NumPy views of CPU parameters (valid while their storage is the same).
        self._host_views: dict[str, tuple] = {}
        #: For export_packed: id(names) -> (names, max_numel, _Packer or None).
        self._packers: dict[int, tuple] = {}
        self.tensors_live: dict[str, torch.Tensor] = {}
        self.batch_grads: dict[str, torch.Tensor] = {}
        #: The parameters before the last step, kept until the next one: "Δ last step" is the
        #: parameters now minus these (None when the step ran without a copy: continue mode).
        self.before_step: dict[str, torch.Tensor] | None = None
        self.stepped = False
        self._copied_for_step = False
        self.ops: list[TraceOp] = []
        self.ops_recorded = False
        self.graph_root = None  # the loss's grad_fn, kept from the loss pause
        self.graph: GraphNode | None = None
        self.shown_mode: tuple[str, bool] | None = None

    # ----- what the phases call -------------------------------------------------------------
    def new_iteration(self) -> None:
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

    @contextlib.contextmanager
    def recording(self, phase: str) -> Iterator[None]:
        """Record the ops that run inside, tagged with the module they ran in."""
        recorder = OpRecorder(self.model, phase, start=len(self.ops))
        try:
            with recorder:
                yield
        finally:
            self.ops.extend(recorder.ops)
            self.ops_recorded = True

    def keep_graph(self, loss: torch.Tensor) -> None:
        self.graph_root = loss.grad_fn

    @contextlib.contextmanager
    def capturing_grads(self) -> Iterator[None]:
        """Keep the gradient each parameter receives in this backward pass (before it is
        added onto ``.grad``), so a summed ``.grad`` can be shown next to this batch's part."""
        handles = []
        for name, param in self.named:
            if param.requires_grad:
                handles.append(param.register_hook(self._grad_keeper(name)))
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()
        self.graph = build_graph(self.graph_root, self._param_names(), self.batch_grads)

    def _grad_keeper(self, name: str):
        def keep(grad: torch.Tensor) -> None:
            held = self.batch_grads.get(name)
            # A parameter used twice in one graph receives two contributions.
            self.batch_grads[name] = grad.detach().clone() if held is None else held + grad.detach()

        return keep

    def remember_before_step(self) -> None:
        with torch.no_grad():
            self.before_step = {name: p.detach().clone() for name, p in self.named}
        self._copied_for_step = True

    def mark_stepped(self) -> None:
        self.stepped = True
        if not self._copied_for_step:
            self.before_step = None  # no copy for this step: an older one would give a false Δ
        self._copied_for_step = False

    def show_validation(self, tensors: dict[str, object]) -> None:
        """The validate pause shows what validate ran on (its last batch and its loss)."""
        self.tensors_live = {}
        for name, value in tensors.items():
            self.set_tensor(name, value)

    def _param_names(self) -> dict[int, str]:
        return {id(p): name for name, p in self.named}

    # ----- inspection -----------------------------------------------------------------------
    def model_mode(self) -> str:
        if self.shown_mode is not None:
            return self.shown_mode[0]
        return "train" if self.model.training else "eval"

    def grad_enabled(self) -> bool:
        if self.shown_mode is not None:
            return self.shown_mode[1]
        return torch.is_grad_enabled()

    def param_states(self) -> tuple[ParamState, ...]:
        values = [p for _, p in self.named]
        grads = [p.grad for _, p in self.named]
        changes: list[torch.Tensor | None] = [None] * len(values)
        if self.stepped and self.before_step is not None:
            with torch.no_grad():
                changes = [p.detach() - self.before_step[name] for name, p in self.named]
        batch = [self.batch_grads.get(name) for name, _ in self.named]
        summaries = summarize_many(values + grads + changes + batch)
        n = len(values)
        out = []
        for i, (name, param) in enumerate(self.named):
            out.append(
                ParamState(
                    name=name,
                    shape=tuple(param.shape),
                    dtype=str(param.dtype).removeprefix("torch."),
                    value=summaries[i],
                    grad=summaries[n + i],
                    change=summaries[2 * n + i],
                    batch_grad=summaries[3 * n + i],
                    requires_grad=param.requires_grad,
                )
            )
        return tuple(out)

    def tensors(self) -> dict[str, TensorSummary]:
        names = list(self.tensors_live)
        summaries = summarize_many([self.tensors_live[n] for n in names])
        return {n: s for n, s in zip(names, summaries) if s is not None}

    def tensor_values(self, name: str) -> np.ndarray | None:
        tensor = self.tensors_live.get(name)
        if tensor is None:
            params = dict(self.named)
            if name in params:
                tensor = params[name]
            elif name.endswith(".grad") and name[:-5] in params:
                tensor = params[name[:-5]].grad
        if tensor is None:
            return None
        return tensor.detach().to("cpu", torch.float64 if not tensor.is_complex() else None).numpy().copy()

    def export_arrays(self, names: Sequence[str], max_numel: int | None = None) -> dict:
        """The named tensors as NumPy arrays, for a recording.

        CPU tensors come back as views that share memory with the live tensors: the caller
        copies them before the next phase. Tensors on a device are copied to the host in
        one transfer per device and dtype; tensors above ``max_numel`` elements come back
        as summaries (one sync for all); a ``.grad`` that is None maps to None.
        """
        params = self._by_name
        live = self.tensors_live
        views = self._host_views
        out: dict = {}
        on_device: dict[tuple, list[tuple[str, torch.Tensor]]] = {}
        large: list[tuple[str, torch.Tensor]] = []
        for name in names:
            tensor = live.get(name)
            if tensor is None:
                tensor = params.get(name)
            if tensor is None and name.endswith(".grad") and name[:-5] in params:
                tensor = params[name[:-5]].grad
                if tensor is None:
                    out[name] = None
                    continue
            if tensor is None:
                continue
            if max_numel is not None and tensor.numel() > max_numel:
                large.append((name, tensor))
                continue
            kept = views.get(name)
            if kept is not None and kept[0] is tensor and kept[1] == tensor.data_ptr():
                out[name] = kept[2]  # a parameter updated in place: its view sees the new values
                continue
            # Asked of each tensor, not kept per name: a batch (or a converted model) may come
            # on another device or in another dtype than the last one.
            if tensor.is_cpu and tensor.dtype not in _NO_NUMPY_TWIN:
                if name in live:
                    view = tensor.numpy()  # batch tensors are kept detached (set_tensor)
                else:  # a parameter, or a grad (one still in a graph after create_graph=True)
                    view = tensor.detach().numpy()
                    if name in params:
                        views[name] = (tensor, tensor.data_ptr(), view)
                out[name] = view
            else:
                on_device.setdefault((tensor.device, tensor.dtype), []).append((name, tensor))
        if on_device:
            self._copy_to_host(on_device, out)
        if large:
            summaries = summarize_many([t for _, t in large], keep=0)
            out.update({name: s for (name, _), s in zip(large, summaries)})
        return out

    @staticmethod
    def _copy_to_host(on_device: dict, out: dict) -> None:
        """One transfer per (device, dtype): the tensors concatenated, then split on the host."""
        with torch.no_grad():
            for (_, dtype), items in on_device.items():
                flat = torch.cat([t.detach().reshape(-1) for _, t in items])
                if dtype in _NO_NUMPY_TWIN:
                    flat = flat.float()
                host = flat.cpu().numpy()
                offset = 0
                for name, tensor in items:
                    n = tensor.numel()
                    out[name] = host[offset : offset + n].reshape(tuple(tensor.shape))
                    offset += n

    def export_packed(
        self, names: Sequence[str], max_numel: int | None = None
    ) -> bytes | np.ndarray | str | None:
        """The named parameters (or their ``.grad``) as one flat array of raw bytes, in order.

        A recording's commonest case, at a fraction of export_arrays' per-tensor cost. On the
        CPU, parameters are joined from views kept between steps and grads go through one
        foreach copy; on a device, one copy into a kept buffer and one transfer. Returns
        ``"none"`` when every ``.grad`` named is None, and None when the tensors cannot be
        packed (a missing grad among present ones, a tensor above ``max_numel``, several
        devices, a dtype NumPy lacks): the caller exports them one by one.
        """
        # Called at every phase with the same list: found by identity, not by hashing names.
        entry = self._packers.get(id(names))
        if entry is None or entry[0] is not names or entry[1] != max_numel:
            if len(self._packers) >= 8:
                self._packers.clear()  # asked with passing lists: keep no more than a few
            entry = self._packers[id(names)] = (
                names,
                max_numel,
                _Packer.build(self._by_name, tuple(names), max_numel),
            )
        packer = entry[2]
        return None if packer is None else packer.pack()

    def trace(self) -> Trace:
        return Trace(ops=tuple(self.ops), graph=self.graph, ops_recorded=self.ops_recorded)


class _Packer:
    """Copies a fixed list of parameters, or of their grads, into one flat block of bytes."""

    def __init__(self, params: list[torch.Tensor], grads: bool) -> None:
        self.params = params
        self.grads = grads
        self.nbytes = sum(p.numel() * p.element_size() for p in params)
        #: The layout the reader will assume (the start frame's): model.double() or a swapped
        #: .data changes it mid-run, so grads are checked at every pack and parameters
        #: whenever their storage changes.
        self.dtypes = tuple(p.dtype for p in params)
        # Contiguous CPU parameters of one dtype: their NumPy views, made once (the storage
        # stays put between steps), are joined into bytes. Grads are new tensors each pass:
        # one foreach copy into ``flat`` beats viewing each of them.
        self.concat_views = not grads and all(
            p.is_cpu and p.dtype == params[0].dtype and p.is_contiguous() for p in params
        )
        self.host_views: list | None = None
        self.pointers: list[int] = []
        self.flat: torch.Tensor | None = None
        self.flat_on_host: np.ndarray | None = None
        self.views: list[torch.Tensor] = []

    @classmethod
    def build(cls, by_name: dict, names: tuple[str, ...], max_numel: int | None) -> _Packer | None:
        grads = bool(names) and all(name.endswith(".grad") for name in names)
        params = [by_name.get(name[:-5] if grads else name) for name in names]
        if not params or any(p is None for p in params):
            return None
        devices = {p.device for p in params}
        if len(devices) != 1 or any(str(p.dtype).removeprefix("torch.") not in _PACKABLE for p in params):
            return None
        if max_numel is not None and any(p.numel() > max_numel for p in params):
            return None
        packer = cls(params, grads)
        if packer.concat_views:
            return packer
        packer.flat = flat = torch.empty(packer.nbytes, dtype=torch.uint8, device=devices.pop())
        if flat.is_cpu:
            packer.flat_on_host = flat.numpy()
        offset = 0
        for p in params:
            size = p.numel() * p.element_size()
            if offset % p.element_size():
                return None  # mixed dtypes that would leave a view unaligned: export one by one
            packer.views.append(flat[offset : offset + size].view(p.dtype).view(p.shape))
            offset += size
        return packer

    def pack(self) -> bytes | np.ndarray | str | None:
        if not self.grads:
            return self._concat_params() if self.concat_views else self._copy(self.params)
        sources = list(map(_GRAD, self.params))
        if sources[0] is None:  # after zero_grad(set_to_none=True): usually every grad is None
            return "none" if sources.count(None) == len(sources) else None
        try:
            dtypes = tuple(map(_DTYPE, sources))
        except AttributeError:  # a missing grad further on: name by name
            return None
        if dtypes != self.dtypes:
            return None  # part of the model converted mid-run: not the start frame's layout
        return self._copy(sources)

    def _copy(self, sources: list) -> bytes | np.ndarray | None:
        """Copy the tensors into the flat buffer and return its bytes (None: they do not fit)."""
        if not self.grads and tuple(map(_DTYPE, sources)) != self.dtypes:
            return None  # not the layout the start frame gave: name by name
        # Grad mode off without a context manager object: this runs at every backward.
        grad_mode = torch.is_grad_enabled()
        torch._C._set_grad_enabled(False)
        try:
            torch._foreach_copy_(self.views, sources)
        except (RuntimeError, TypeError):  # a missing or sparse grad, another shape
            return None
        finally:
            torch._C._set_grad_enabled(grad_mode)
        if self.flat_on_host is not None:
            return self.flat_on_host.tobytes()  # the buffer is reused: the caller keeps a copy
        return self.flat.cpu().numpy()

    def _concat_params(self) -> bytes | None:
        params = self.params
        pointers = list(map(_DATA_PTR, params))
        if pointers != self.pointers:
            # New storage (p.data = ..., model.double(), model.cuda()): check the layout again.
            if tuple(p.dtype for p in params) != self.dtypes or not all(
                p.is_cpu and p.is_contiguous() for p in params
            ):
                return None  # not the start frame's layout, a strided view, a device: one by one
            # memoryviews: joining them asks NumPy for nothing (its buffer export is the slow part).
            self.host_views = [memoryview(p.detach().numpy()) for p in params]
            self.pointers = pointers
        # Joining the views' buffers copies the bytes and nothing else: several times quicker
        # than np.concatenate for a model's worth of small tensors.
        flat = b"".join(self.host_views)
        return flat if len(flat) == self.nbytes else None  # resized in place
