"""Installs the hooks and wrappers that see a script's training calls, and removes them.

torch offers global module forward hooks and global optimizer step hooks; there is no
hook for zero_grad or for the call to backward, so those methods are wrapped. Only the
thread that runs the script counts: DataLoader worker processes inherit the hooks (and
the same thread id) when they fork, so a fork turns them off in the child; modules
called while a DataLoader fetches a batch (transforms inside ``__getitem__``) and
modules with no parameters are not a model's forward.

Only torch's *global* hooks and patches of torch's own classes are used, for the whole
run: nothing is put on the user's modules or optimizers (a hook on a model would travel
into ``torch.save(model)`` and ``pickle``, and fail there), and the hooks torch.compile
guards on do not change while it runs (which would make it recompile).
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import warnings
from typing import Any

import torch
from torch import nn
from torch.nn.modules import module as module_api
from torch.optim import optimizer as optimizer_api
from torch.utils.data import dataloader

from ..norms import NormReader
from .clipping import CLIP_FUNCTIONS, clip_description
from .loss_functions import LOSS_FUNCTIONS
from .sleeping import Sleeping
from .tracker import PhaseTracker, first_tensor

_is_compiling = torch.compiler.is_compiling
_get_ident = threading.get_ident

# What a module call stands for: inside a forward, a loss module inside one, no model, a
# top-level loss, a training forward, a forward without grad.
_INNER, _INNER_LOSS, _OTHER, _LOSS, _TRAIN, _VAL = range(6)

_installed: Interceptor | None = None
#: Held while an interceptor is installed: a restarted run waits for the previous one to unwind.
_install_lock = threading.Lock()
#: Seconds a new run waits for the previous one to remove its hooks.
INSTALL_WAIT = 30.0

#: torch warns that global hooks fire once more for a compiled module's wrapper; the
#: tracker counts only the outermost call, so the warning would only confuse the user.
_COMPILE_WARNING = r"Using `torch.compile\(module\)` when there are global hooks"


def _turn_off_in_child() -> None:
    """A forked child (a DataLoader worker) must never pause: it has no stepper to talk to."""
    if _installed is not None:
        _installed.active = False
        _installed.forked = True


os.register_at_fork(after_in_child=_turn_off_in_child)


def intercepting_this_thread() -> bool:
    """Whether loopstep already runs the calling thread's script (``loopstep.listen()`` then
    has nothing to do)."""
    return _installed is not None and _installed.thread_id == _get_ident()


def _has_params(module: nn.Module) -> bool:
    for _ in module.parameters():
        return True
    return False


class _ParamOwners:
    """Whether a module has parameters, remembered: asking torch costs ~30 µs a call."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[nn.Module, bool]] = {}

    def __call__(self, module: nn.Module) -> bool:
        known = self._known.get(id(module))
        if known is None or known[0] is not module:
            known = self._known[id(module)] = (module, _has_params(module))
        return known[1]


class Interceptor(Sleeping):
    """Context manager: everything it installs on enter is removed on exit."""

    def __init__(self, tracker: PhaseTracker) -> None:
        self.tracker = tracker
        self.thread_id = 0
        self.active = False
        self.stack: list[tuple[Any, int]] = []
        self.fetching = 0
        self.busy = False  # inside a wrapped backward or zero_grad: nested calls are torch's own
        self._has_params = _ParamOwners()
        self._global_handles: list = []
        self._phase_handles: list = []  # off while asleep (:mod:`.sleeping`)
        self._patches: list[tuple[Any, str, Any]] = []
        self._warning_filter = None
        self._params_reader = NormReader()

    # ----- install / remove -------------------------------------------------------------------
    def __enter__(self) -> Interceptor:
        global _installed
        if not _install_lock.acquire(timeout=INSTALL_WAIT):
            raise RuntimeError("loopstep is already intercepting a script in this process")
        _installed = self
        try:
            self._install()
        except BaseException:
            self.remove()
            raise
        return self

    def _install(self) -> None:
        self.thread_id = _get_ident()
        self._install_phase_hooks()
        self._global_handles = [
            optimizer_api.register_optimizer_step_pre_hook(self._pre_step_asleep),
            optimizer_api.register_optimizer_step_post_hook(self._post_step),
        ]
        self._patch(torch.Tensor, "backward", self._wrap_tensor_backward(torch.Tensor.backward))
        self._patch(torch.autograd, "backward", self._wrap_autograd_backward(torch.autograd.backward))
        self._patch(torch.optim.Optimizer, "zero_grad", self._wrap_zero_grad(torch.optim.Optimizer.zero_grad))
        self._patch(nn.Module, "zero_grad", self._wrap_zero_grad(nn.Module.zero_grad))
        self._patch(
            torch.optim.Optimizer, "__init__", self._wrap_optimizer_init(torch.optim.Optimizer.__init__)
        )
        iterator = dataloader._BaseDataLoaderIter
        self._patch(iterator, "__next__", self._wrap_fetch(iterator.__next__))
        self._patch(dataloader.DataLoader, "__iter__", self._wrap_loader_iter(dataloader.DataLoader.__iter__))
        clip = torch.nn.utils.clip_grad
        for name in CLIP_FUNCTIONS:
            original = torch.nn.utils.__dict__.get(name, clip.__dict__.get(name))
            if original is None:
                continue
            wrapped = self._wrap_clip(name, original)
            if clip.__dict__.get(name) is original:
                self._patch(clip, name, wrapped)
            if torch.nn.utils.__dict__.get(name) is original:
                self._patch(torch.nn.utils, name, wrapped)
        functional = torch.nn.functional
        for name in LOSS_FUNCTIONS:
            original = getattr(functional, name, None)
            if original is not None:
                self._patch(functional, name, self._wrap_loss_function(name, original))
        warnings.filterwarnings("ignore", message=_COMPILE_WARNING)
        self._warning_filter = warnings.filters[0]
        self.active = True

    def _install_phase_hooks(self) -> None:
        self._phase_handles = [
            module_api.register_module_forward_pre_hook(self._pre_forward),
            module_api.register_module_forward_hook(self._post_forward, always_call=True),
            optimizer_api.register_optimizer_step_pre_hook(self._pre_step),
        ]

    def _remove_phase_hooks(self) -> None:
        for handle in self._phase_handles:
            handle.remove()
        self._phase_handles = []

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def remove(self) -> None:
        """Undo everything; safe to call twice."""
        global _installed
        self.active = False
        self._remove_phase_hooks()
        for handle in self._global_handles:
            handle.remove()
        self._global_handles = []
        while self._patches:
            owner, name, original = self._patches.pop()
            setattr(owner, name, original)
        if self._warning_filter in warnings.filters:
            warnings.filters.remove(self._warning_filter)
            warnings._filters_mutated()
        self._warning_filter = None
        if _installed is self:
            _installed = None
            _install_lock.release()

    def _patch(self, owner: Any, name: str, replacement: Any) -> None:
        self._patches.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, replacement)

    # ----- filters ----------------------------------------------------------------------------
    def _ours(self) -> bool:
        """The call comes from the script's training thread, outside a batch fetch."""
        return self.active and _get_ident() == self.thread_id and not self.fetching

    def _top_level(self) -> bool:
        return not _is_compiling() and self._ours() and not self.stack and not self.busy

    # ----- module calls -----------------------------------------------------------------------
    def _pre_forward(self, module: nn.Module, args: tuple) -> None:
        # Modules run inside backward (activation checkpointing) are not a forward.
        if _is_compiling() or not self._ours() or self.busy:
            return
        stack = self.stack
        if stack:
            inner_loss = isinstance(module, nn.modules.loss._Loss) and stack[0][1] in (_TRAIN, _VAL)
            stack.append((module, _INNER_LOSS if inner_loss else _INNER))
            return
        if isinstance(module, nn.modules.loss._Loss):
            self.tracker.before_loss()
            role = _LOSS
        elif self._has_params(module):
            role = _TRAIN if self.tracker.before_forward(module, args) else _VAL
        else:
            role = _OTHER
        stack.append((module, role))

    def _post_forward(self, module: nn.Module, args: tuple, output: Any) -> None:
        if _is_compiling() or not self._ours() or self.busy:
            return
        stack = self.stack
        if not stack or stack[-1][0] is not module:
            return
        _, role = stack.pop()
        if role == _INNER_LOSS:
            self.tracker.inner_loss_computed(output)  # a loss computed inside the model's forward
            return
        if stack or role in (_INNER, _OTHER):
            return
        if output is None and sys.exc_info()[0] is not None:  # the forward raised
            self.tracker.abort_call()
            return
        if role == _LOSS:
            self.tracker.after_loss(type(module).__name__, args, output)
        else:
            self.tracker.after_forward(module, output, role == _TRAIN, args)

    # ----- wrapped functions ------------------------------------------------------------------
    def _wrap_loss_function(self, name: str, original):
        @functools.wraps(original)
        def loss_function(*args, **kwargs):
            if not self._top_level():
                output = original(*args, **kwargs)
                if self.asleep and self._asleep_here(_get_ident):
                    self.asleep_loss_computed(output, name)
                stack = self.stack
                if stack and stack[0][1] in (_TRAIN, _VAL) and not self.busy and self._ours():
                    self.tracker.inner_loss_computed(output)  # nanoGPT's loss, inside forward
                return output
            self.tracker.before_loss()
            self.stack.append((None, _INNER))
            try:
                output = original(*args, **kwargs)
            except BaseException:
                self.tracker.abort_call()
                raise
            finally:
                self.stack.pop()
            self.tracker.after_loss(f"F.{name}", args, output)
            return output

        return loss_function

    def _wrap_tensor_backward(self, original):
        @functools.wraps(original)
        def backward(tensor, *args, **kwargs):
            if self.asleep and self._asleep_here(_get_ident) and not _is_compiling():
                if self.asleep_loss_ok(tensor):
                    self.busy = True  # torch.autograd.backward, called inside, is this same backward
                    try:
                        before = self.asleep_before_backward()
                        result = original(tensor, *args, **kwargs)
                    finally:
                        self.busy = False
                    self.asleep_backward(tensor, before)
                    return result
            if not self._top_level():
                return original(tensor, *args, **kwargs)
            result = self._run_busy(tensor, lambda: original(tensor, *args, **kwargs), self.tracker.backward)
            self.backward_done()
            return result

        return backward

    def _wrap_autograd_backward(self, original):
        @functools.wraps(original)
        def backward(tensors, *args, **kwargs):
            target = first_tensor(tensors)
            asleep = self.asleep and not self.busy and target is not None
            if asleep and self._asleep_here(_get_ident) and not _is_compiling():
                if self.asleep_loss_ok(target):
                    before = self.asleep_before_backward()
                    result = original(tensors, *args, **kwargs)
                    self.asleep_backward(target, before)
                    return result
            if target is None or not self._top_level():
                return original(tensors, *args, **kwargs)
            result = self._run_busy(target, lambda: original(tensors, *args, **kwargs), self.tracker.backward)
            self.backward_done()
            return result

        return backward

    def _wrap_zero_grad(self, original):
        @functools.wraps(original)
        def zero_grad(owner, *args, **kwargs):
            if self.asleep and self._asleep_here(_get_ident) and not self.busy and not _is_compiling():
                self.asleep_zero_grad(owner)
            if not self._top_level():
                return original(owner, *args, **kwargs)
            return self._run_busy(owner, lambda: original(owner, *args, **kwargs), self.tracker.zero_grad)

        return zero_grad

    def _run_busy(self, subject: Any, call, phase):
        def guarded():
            self.busy = True
            try:
                return call()
            finally:
                self.busy = False

        return phase(subject, guarded)

    def _wrap_optimizer_init(self, original):
        @functools.wraps(original)
        def __init__(optimizer, *args, **kwargs):
            original(optimizer, *args, **kwargs)
            if self.active and _get_ident() == self.thread_id:
                self.tracker.note_optimizer(optimizer)

        return __init__

    def _wrap_clip(self, name: str, original):
        @functools.wraps(original)
        def clip(parameters, *args, **kwargs):
            if not self._top_level():
                return original(parameters, *args, **kwargs)
            params = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
            describe = clip_description(name, params, args, kwargs)
            return self.tracker.clip(name, lambda: original(params, *args, **kwargs), describe)

        return clip

    def _wrap_loader_iter(self, original):
        @functools.wraps(original)
        def __iter__(loader):
            iterator = original(loader)
            if self._ours():
                self.tracker.note_loader(loader, iterator)
            return iterator

        return __iter__

    def _wrap_fetch(self, original):
        @functools.wraps(original)
        def __next__(iterator):
            if not self._ours():
                if self.asleep and self._asleep_here(_get_ident):
                    self.asleep_fetch()
                    batch = original(iterator)
                    self.tracker.note_fetch(iterator)  # only once it gave one (not StopIteration)
                    return batch
                return original(iterator)
            self.fetching += 1
            try:
                batch = original(iterator)
            finally:
                self.fetching -= 1
            self.tracker.note_fetch(iterator)
            return batch

        return __next__

    # ----- optimizer steps ----------------------------------------------------------------------
    def _pre_step(self, optimizer, args, kwargs) -> None:
        if _is_compiling() or not self._ours():
            return
        self.tracker.before_step(optimizer)

    def _pre_step_asleep(self, optimizer, args, kwargs) -> None:
        if self.asleep and self._asleep_here(_get_ident) and not _is_compiling():
            self.asleep_step_starts()

    def _post_step(self, optimizer, args, kwargs) -> None:
        if _is_compiling():
            return
        if self.asleep:
            if self._asleep_here(_get_ident):
                self.asleep_step(optimizer)
            return
        if not self._ours():
            return
        self.tracker.after_step(optimizer)
        self.settle()
