"""Copies of a run's parameters and grads for a recording: one flat block per phase where
the tensors allow it (:class:`Packer`), else tensor by tensor (:func:`export_tensors`)."""

from __future__ import annotations

from operator import attrgetter, methodcaller

import numpy as np
import torch

from ...engine.recording.format import ALLOWED_DTYPES
from .stats import summarize_many

#: Dtypes a packed block may hold: real ones the recording reader accepts (others go name by
#: name, converted to float64).
_PACKABLE = frozenset(d for d in ALLOWED_DTYPES if not d.startswith("complex"))

#: Dtypes NumPy has no twin for: exported as float32.
NO_NUMPY_TWIN = frozenset(
    {torch.bfloat16, *(getattr(torch, n) for n in ("float8_e4m3fn", "float8_e5m2") if hasattr(torch, n))}
)

# The packer reads these of every parameter at every phase it runs: map() with these runs in C,
# where a comprehension or generator is a Python frame of its own.
_GRAD = attrgetter("grad")
_DTYPE = attrgetter("dtype")
_DATA_PTR = methodcaller("data_ptr")


def export_tensors(names, live: dict, params: dict, views: dict, max_numel: int | None) -> dict:
    """The named tensors as NumPy arrays, for a recording.

    CPU tensors come back as views that share memory with the live tensors: the caller
    copies them before the next phase. Tensors on a device are copied to the host in
    one transfer per device and dtype; tensors above ``max_numel`` elements come back
    as summaries (one sync for all); a ``.grad`` that is None maps to None.
    """
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
        if tensor.is_cpu and tensor.dtype not in NO_NUMPY_TWIN:
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
        _copy_to_host(on_device, out)
    if large:
        summaries = summarize_many([t for _, t in large], keep=0)
        out.update({name: s for (name, _), s in zip(large, summaries)})
    return out


def _copy_to_host(on_device: dict, out: dict) -> None:
    """One transfer per (device, dtype): the tensors concatenated, then split on the host."""
    with torch.no_grad():
        for (_, dtype), items in on_device.items():
            flat = torch.cat([t.detach().reshape(-1) for _, t in items])
            if dtype in NO_NUMPY_TWIN:
                flat = flat.float()
            host = flat.cpu().numpy()
            offset = 0
            for name, tensor in items:
                n = tensor.numel()
                out[name] = host[offset : offset + n].reshape(tuple(tensor.shape))
                offset += n


class Packer:
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
    def build(cls, by_name: dict, names: tuple[str, ...], max_numel: int | None) -> Packer | None:
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
