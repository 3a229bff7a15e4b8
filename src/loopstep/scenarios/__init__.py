"""Built-in scenarios: small problems whose data is generated from a seed, nothing downloaded."""

from __future__ import annotations

from .base import Scenario, ScenarioError, build, scenario_session
from .linreg import LINREG
from .mlp import MLP

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (LINREG, MLP)}

__all__ = ["SCENARIOS", "Scenario", "ScenarioError", "build", "scenario_session"]
