"""What a scenario is, and how one becomes a loop the engine can step.

Light on purpose: checking a scenario's arguments and making its Session import neither
NumPy nor the engine's loop, so the app's first frame does not wait for them. The data and
the loop are made in ``data.py`` and the scenario modules, when the run starts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..engine.owned_loop import OwnedLoop


class ScenarioError(ValueError):
    """A scenario was asked for something it cannot do (shown to the user as one line)."""


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    backends: tuple[str, ...]
    default_backend: str
    default_lr: float
    default_epochs: int
    batch_size: int
    make: Callable[..., OwnedLoop]  # make(backend, seed=, lr=, epochs=) -> OwnedLoop
    #: backend -> the loop's source for the code pane, a str.format template ({lr}, {epochs}, {seed})
    code: dict[str, str] = field(default_factory=dict)


def _checked(name: str, backend: str | None) -> tuple[Scenario, str]:
    """The scenario and backend asked for, or a ScenarioError that says what exists."""
    from . import SCENARIOS

    scenario = SCENARIOS.get(name)
    if scenario is None:
        raise ScenarioError(f"unknown scenario {name!r}; choose one of: {', '.join(SCENARIOS)}")
    backend = backend or scenario.default_backend
    if backend not in scenario.backends:
        raise ScenarioError(f"scenario {name!r} runs on {' or '.join(scenario.backends)}, not {backend!r}")
    return scenario, backend


def build(
    name: str,
    backend: str | None = None,
    *,
    seed: int = 0,
    lr: float | None = None,
    epochs: int | None = None,
) -> OwnedLoop:
    scenario, backend = _checked(name, backend)
    if lr is not None and not (lr > 0 and math.isfinite(lr)):
        raise ScenarioError(f"learning rate must be a positive number, got {lr}")
    if epochs is not None and epochs < 1:
        raise ScenarioError(f"epochs must be at least 1, got {epochs}")
    return scenario.make(
        backend,
        seed=seed,
        lr=scenario.default_lr if lr is None else lr,
        epochs=scenario.default_epochs if epochs is None else epochs,
    )


def scenario_session(
    name: str,
    backend: str | None = None,
    *,
    seed: int = 0,
    lr: float | None = None,
    epochs: int | None = None,
    zero_grad: bool = True,
    max_iterations: int | None = None,
):
    """A Session for a built-in scenario; checks its arguments at once (building the loop lazily)."""
    from ..engine.session import Session, loop_code
    from ..engine.stepper import Settings

    scenario, backend = _checked(name, backend)
    code_for = loop_code(
        scenario.code[backend],
        f"<{name} · {backend}>",
        scenario.default_lr if lr is None else lr,
        epochs=scenario.default_epochs if epochs is None else epochs,
        seed=seed,
    )
    return Session(
        title=f"{name} ({backend})",
        make_source=lambda: build(name, backend, seed=seed, lr=lr, epochs=epochs),
        settings=Settings(zero_grad=zero_grad, lr=lr),
        code_for=code_for,
        max_iterations=max_iterations,
        backend=backend,
        scenario=name,
        branches=True,
    )
