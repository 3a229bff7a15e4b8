"""Training that loopstep runs itself: ``loopstep run module:factory`` and ``loopstep.debug(...)``.

A user hands over a model, an optimizer, a loss and batches; loopstep owns the loop,
exactly like the built-in scenarios. Nothing here imports torch until a run starts.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from .engine.session import Session, loop_code
from .engine.stepper import Settings

_FACTORY_SPEC = re.compile(r"(?P<module>.+):(?P<name>[A-Za-z_][A-Za-z0-9_]*)")


class ExperimentError(ValueError):
    """A factory that cannot be found, loaded or used (shown as one line)."""


@dataclass
class Experiment:
    """What loopstep needs to run training itself.

    ``train_data`` and ``val_data`` are iterables of ``(x, y)`` batches (a DataLoader,
    a list of tuples...); they are iterated afresh each epoch.
    """

    model: Any
    optimizer: Any
    loss_fn: Callable[[Any, Any], Any]
    train_data: Iterable[tuple[Any, Any]]
    val_data: Iterable[tuple[Any, Any]] | None = None
    epochs: int = 1
    title: str = ""


def is_factory_spec(target: str) -> bool:
    """``pkg.module:factory`` or ``file.py:factory`` (a plain existing path never is)."""
    return _FACTORY_SPEC.fullmatch(target) is not None and not os.path.exists(target)


def load_factory(spec: str) -> Callable[[], Experiment]:
    match = _FACTORY_SPEC.fullmatch(spec)
    if match is None:
        raise ExperimentError(f"expected module:factory or file.py:factory, got {spec!r}")
    module_part, name = match["module"], match["name"]
    try:
        if module_part.endswith(".py") or os.sep in module_part:
            module = _load_file(module_part)
        else:
            if "" not in sys.path and os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_part)
    except ExperimentError:
        raise
    except SyntaxError as exc:
        raise ExperimentError(f"{exc.filename}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's to fix, in one line
        raise ExperimentError(f"cannot import {module_part}: {type(exc).__name__}: {exc}") from None
    factory = getattr(module, name, None)
    if factory is None:
        raise ExperimentError(f"{module_part} has no {name!r}")
    if not callable(factory):
        raise ExperimentError(f"{module_part}:{name} is not callable")
    return factory


def _load_file(path: str):
    if not os.path.isfile(path):
        raise ExperimentError(f"no such file: {path}")
    folder = os.path.dirname(os.path.abspath(path))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module_name = "_loopstep_factory_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def call_factory(factory: Callable[[], Experiment], label: str) -> Experiment:
    try:
        experiment = factory()
    except Exception as exc:  # noqa: BLE001 - shown to the user as one line
        raise ExperimentError(f"{label} raised {type(exc).__name__}: {exc}") from None
    if not isinstance(experiment, Experiment):
        raise ExperimentError(f"{label} returned {type(experiment).__name__}, not loopstep.Experiment")
    if experiment.epochs < 1:
        raise ExperimentError(f"{label}: epochs must be at least 1, got {experiment.epochs}")
    return experiment


def experiment_loop(experiment: Experiment, name: str):
    """An OwnedLoop over the experiment on the torch backend."""
    from .backends.torch.backend import TorchBackend
    from .engine.owned_loop import BatchPlan, OwnedLoop

    train, val = experiment.train_data, experiment.val_data
    plan = BatchPlan(
        train=lambda epoch: iter(train),
        epochs=experiment.epochs,
        val=(lambda: iter(val)) if val is not None else None,
        batches_per_epoch=len(train) if hasattr(train, "__len__") else None,
    )
    backend = TorchBackend(experiment.model, experiment.optimizer, experiment.loss_fn)
    return OwnedLoop(backend, plan, name)


def experiment_code(experiment: Experiment) -> str:
    """The loop loopstep runs, written out for the code pane (a ``loop_code`` template)."""
    loss = getattr(experiment.loss_fn, "__name__", None) or type(experiment.loss_fn).__name__
    lines = [
        f"model = {_literal(type(experiment.model).__name__)}(...)",
        f"opt = {_literal(type(experiment.optimizer).__name__)}(model.parameters(), lr={{lr}})",
        f"loss_fn = {_literal(loss)}",
        f"for epoch in range({experiment.epochs}):",
        "    model.train()",
        "    for x, y in train_data:",
        "        pred = model(x)              # 1. forward",
        "        L = loss_fn(pred, y)         # 2. loss",
        "        L.backward()                 # 3. backward",
        "        opt.step()                   # 4. step",
        "        opt.zero_grad()              # 5. zero_grad",
    ]
    if experiment.val_data is not None:
        lines += [
            "    model.eval()",
            "    with torch.no_grad():",
            "        val_loss = mean(loss_fn(model(x), y) for x, y in val_data)",
        ]
    return "\n".join(lines) + "\n"


def _literal(name: str) -> str:
    """A name as it stands in a str.format template."""
    return name.replace("{", "{{").replace("}", "}}")


def first_lr(optimizer: Any) -> float | None:
    groups = getattr(optimizer, "param_groups", None) or [{}]
    lr = groups[0].get("lr")
    return float(lr) if isinstance(lr, (int, float)) else None


def experiment_session(
    make: Callable[[], Experiment],
    title: str,
    *,
    first: Experiment | None = None,
    settings: Settings | None = None,
    max_iterations: int | None = None,
) -> Session:
    """A Session over experiments made by ``make``; ``first`` is used for the first run."""
    pending = [first] if first is not None else []
    shown = first if first is not None else make()
    if first is None:
        pending.append(shown)

    def make_source():
        experiment = pending.pop() if pending else make()
        return experiment_loop(experiment, title)

    return Session(
        title=title,
        make_source=make_source,
        settings=settings or Settings(),
        code_for=loop_code(experiment_code(shown), f"<{title}>", first_lr(shown.optimizer)),
        max_iterations=max_iterations,
        backend="torch",
    )


def factory_session(
    spec: str, *, settings: Settings | None = None, max_iterations: int | None = None
) -> Session:
    """``module:factory``: checked now (import, call, type), called again on each restart."""
    factory = load_factory(spec)
    first = call_factory(factory, spec)
    session = experiment_session(
        lambda: call_factory(factory, spec),
        first.title or spec,
        first=first,
        settings=settings,
        max_iterations=max_iterations,
    )
    return replace(session, branches=True)  # each call made objects of its own


def restartable(experiment: Experiment) -> Callable[[], Experiment]:
    """Each restart begins from the weights and optimizer state the experiment started with."""
    model_state = copy.deepcopy(experiment.model.state_dict())
    optimizer_state = copy.deepcopy(experiment.optimizer.state_dict())

    def fresh() -> Experiment:
        experiment.model.load_state_dict(model_state)
        experiment.optimizer.load_state_dict(copy.deepcopy(optimizer_state))
        for p in experiment.model.parameters():
            p.grad = None
        return experiment

    return fresh
