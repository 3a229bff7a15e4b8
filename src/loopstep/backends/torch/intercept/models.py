"""Which models and optimizers a script trains, and what they are called.

A model is the outermost module a training call reaches: ``netD`` in ``netD(real)``, but the
LightningModule in ``self.gen(z)`` inside its ``training_step``, so that a parameter keeps
its full path (``gen.0.weight``). Its name is the script's own variable for it where one can
be found (``netG``, ``self.model`` → ``model``). With several models, parameter names are
qualified by the model's name (``netG.main.0.weight``): one list of every parameter of the
run, the same at every phase.

An optimizer is the torch optimizer that holds the parameters, unwrapped from the wrappers
frameworks put around it (Lightning's, accelerate's), and is named the same way
(``optimizerD (Adam)``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .frames import is_user_file

#: Attributes a framework's optimizer wrapper keeps the real optimizer in.
_WRAPPED = ("optimizer", "_optimizer")


def clean_name(name: str) -> str:
    """torch.compile wraps the model as ``_orig_mod``: show the user's own names."""
    return name.replace("_orig_mod.", "")


def unwrap_optimizer(optimizer: Any) -> Any:
    """The torch optimizer inside a framework's wrapper (the object itself if none)."""
    for _ in range(4):  # a wrapper of a wrapper, at most this deep
        for attr in _WRAPPED:
            inner = getattr(optimizer, attr, None)
            if isinstance(inner, torch.optim.Optimizer) and inner is not optimizer:
                optimizer = inner
                break
        else:
            return optimizer
    return optimizer


def _user_frames(skip: int = 2):
    frame = sys._getframe(skip)
    while frame is not None:
        if is_user_file(frame.f_code.co_filename):
            yield frame
        frame = frame.f_back


def variable_name(obj: Any) -> str | None:
    """The name the script's code gives ``obj``: a local or global variable, or an attribute
    of one (``self.model`` → ``model``); the innermost user frame that has one wins. ``self``
    names nothing (a LightningModule's own methods call it that): the search goes on outwards."""
    for frame in _user_frames(3):
        for scope in (frame.f_locals, frame.f_globals):
            for name, value in scope.items():
                if value is obj and not name.startswith("__") and name not in ("self", "cls"):
                    return name
        for holder, value in frame.f_locals.items():
            attributes = getattr(value, "__dict__", None)
            if isinstance(attributes, dict) and not isinstance(value, type):
                for name, inner in attributes.items():
                    if inner is obj and not name.startswith("__"):
                        # A wrapper the script holds (Lightning's opt_g, accelerate's
                        # prepared model) is named by the script's variable for it.
                        if name in _WRAPPED and holder not in ("self", "cls"):
                            return holder
                        return name.lstrip("_")
    return None


#: Attributes through which a framework's wrapper holds the user's optimizer or model.
_WRAPPED = ("_optimizer", "optimizer", "module", "_module", "_orig_mod")


def outermost_holder(module: nn.Module, known: list[nn.Module]) -> nn.Module:
    """The outermost module that contains ``module``: a known model, or one the script's
    frames hold (a LightningModule's ``self``), else the module itself."""
    holder = module
    for candidate in known:
        if candidate is not module and _contains(candidate, module):
            holder = candidate
    for frame in _user_frames(3):
        for value in frame.f_locals.values():
            if isinstance(value, nn.Module) and value is not holder and _contains(value, holder):
                holder = value
    return holder


def _contains(outer: nn.Module, inner: nn.Module) -> bool:
    return any(m is inner for m in outer.modules())


class LooseParams(nn.Module):
    """Stands in for a model when an optimizer updates tensors that no module owns."""


@dataclass(eq=False)
class Model:
    module: nn.Module
    name: str
    #: (name in the module, parameter), names as torch gives them minus torch.compile's prefix.
    params: list[tuple[str, nn.Parameter]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.name} ({type(self.module).__name__})"


@dataclass(eq=False)
class TrackedOptimizer:
    optimizer: Any
    index: int
    kind: str
    #: The script's variable for it, looked up when first shown (not at its __init__, when
    #: ``optimizerD = Adam(...)`` has not bound the name yet).
    name: str | None = None
    named: bool = False


class RunModels:
    """Every model and optimizer the script has used so far, in the order they appeared."""

    def __init__(self) -> None:
        self.models: list[Model] = []
        self._by_module: dict[int, Model] = {}  # a training call's module -> its model
        self.optimizers: list[TrackedOptimizer] = []
        #: Bumped whenever the list of parameters changes (a model appeared).
        self.version = 0
        self._named: list[tuple[str, nn.Parameter]] = []
        self._owner: dict[int, Model] = {}  # id(param) -> its model
        self._names: dict[int, tuple[nn.Parameter, str]] = {}  # the name each parameter was shown by
        self._module_names: dict[int, tuple[nn.Module, str]] = {}  # modules zero_grad was called on

    # ----- models -------------------------------------------------------------------------------
    def model_of(self, module: nn.Module) -> Model:
        """The model a call of ``module`` belongs to (registered on first sight)."""
        found = self._by_module.get(id(module))
        if found is not None and any(m is module for m in found.module.modules()):
            return found
        root = outermost_holder(module, [m.module for m in self.models])
        model = next((m for m in self.models if m.module is root), None)
        if model is None:
            model = self._add(root)
        self._by_module[id(module)] = model
        return model

    def _add(self, root: nn.Module) -> Model:
        taken = {m.name for m in self.models}
        name = variable_name(root) or type(root).__name__.lower()
        base, n = name, 2
        while name in taken:
            name, n = f"{base}{n}", n + 1
        model = Model(root, name, [(clean_name(n), p) for n, p in root.named_parameters()])
        # A model inside one seen before replaces nothing; one holding earlier ones absorbs them.
        self.models = [m for m in self.models if not _contains(root, m.module)] + [model]
        for key, known in list(self._by_module.items()):
            if _contains(root, known.module):
                self._by_module[key] = model
        self._reindex()
        return model

    def _reindex(self) -> None:
        """The run's parameter list. A name, once shown, never changes (a recording and a stop
        condition go by it): a model that appears when others are known gets qualified names,
        and the models known from the optimizers made at the start are qualified from the start."""
        self.version += 1
        qualify = len(self.models) > 1
        self._named, self._owner = [], {}
        seen: set[int] = set()
        for model in self.models:
            for name, param in model.params:
                if id(param) in seen:
                    continue  # shared between models (tied weights): listed once
                seen.add(id(param))
                shown = self._names.get(id(param))
                if shown is None or shown[0] is not param:
                    shown = (param, f"{model.name}.{name}" if qualify else name)
                self._named.append((shown[1], param))
                self._owner[id(param)] = model

    @property
    def named(self) -> list[tuple[str, nn.Parameter]]:
        """Every parameter of the run as (name shown, parameter). Asking shows them: from
        now on these names stay."""
        names = self._names
        for name, param in self._named:
            if id(param) not in names:
                names[id(param)] = (param, name)
        return self._named

    def owner(self, param: torch.Tensor) -> Model | None:
        return self._owner.get(id(param))

    def model_holding(self, params: list[torch.Tensor]) -> Model | None:
        """The model of the first of ``params`` found, looking in the script's variables too
        (an optimizer's model before the script has called it)."""
        for param in params:
            model = self._owner.get(id(param))
            if model is not None:
                return model
        if not params:
            return None
        first = params[0]
        best: nn.Module | None = None
        for frame in _user_frames(2):
            for value in list(frame.f_locals.values()) + list(frame.f_globals.values()):
                if isinstance(value, nn.Module) and any(p is first for p in value.parameters()):
                    if best is None or _contains(value, best):
                        best = value
        return self.model_of(best) if best is not None else None

    def cover(self, params: list[torch.Tensor]) -> None:
        """Register the models that hold these parameters (an optimizer's: over a backbone and a
        head, both), and a model of loose tensors for those no module holds."""
        rest = [p for p in params if id(p) not in self._owner]
        while rest:
            model = self.model_holding(rest[:1])
            if model is None or id(rest[0]) not in self._owner:
                self.loose(rest)  # held by no module the script's frames show
                return
            rest = [p for p in rest if id(p) not in self._owner]

    def loose(self, params: list[torch.Tensor]) -> Model:
        """Tensors an optimizer updates that no module owns (``SGD([w, b])``): a model of their own."""
        holder = LooseParams()
        name = "params" if all(m.name != "params" for m in self.models) else f"params{len(self.models) + 1}"
        named = []
        for i, param in enumerate(params):
            found = variable_name(param)
            named.append((found or f"param{i}", param))
        model = Model(holder, name, named)
        self.models.append(model)
        self._reindex()
        return model

    # ----- optimizers ---------------------------------------------------------------------------
    def optimizer(self, optimizer: Any) -> TrackedOptimizer:
        optimizer = unwrap_optimizer(optimizer)
        for tracked in self.optimizers:
            if tracked.optimizer is optimizer:
                return tracked
        tracked = TrackedOptimizer(optimizer, len(self.optimizers) + 1, type(optimizer).__name__)
        self.optimizers.append(tracked)
        return tracked

    def optimizer_label(self, optimizer: Any) -> str:
        tracked = self.optimizer(optimizer)
        if not tracked.named:
            tracked.name, tracked.named = variable_name(unwrap_optimizer(optimizer)), True
        live = len(self.optimizers)
        if tracked.name:
            return f"{tracked.name} ({tracked.kind})"
        return f"optimizer {tracked.index} of {live}: {tracked.kind}" if live > 1 else tracked.kind

    def optimizer_series(self, optimizer: Any) -> str:
        """The name of this optimizer's loss curve when the run steps several; else ""."""
        if len(self.optimizers) < 2:
            return ""
        tracked = self.optimizer(optimizer)
        self.optimizer_label(optimizer)  # looks the variable name up once
        return tracked.name or f"optimizer {tracked.index}"

    def live_optimizers(self) -> list[torch.optim.Optimizer]:
        """The run's optimizers (held for the run, as its models are)."""
        return [t.optimizer for t in self.optimizers]

    def name_of_module(self, module: nn.Module, params: list) -> str:
        """The script's name for a module it called zero_grad on (looked up once)."""
        known = self._module_names.get(id(module))
        if known is None or known[0] is not module:
            model = self.model_holding(params[:1]) if params else None
            name = variable_name(module) or (model.name if model is not None else type(module).__name__)
            known = self._module_names[id(module)] = (module, name)
        return known[1]
