"""Built-in scenarios: small problems whose data is generated from a seed, nothing downloaded."""

from __future__ import annotations

from dataclasses import dataclass

from .base import Scenario, ScenarioError, build
from .linreg import LINREG
from .mlp import MLP

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (LINREG, MLP)}

__all__ = ["SCENARIOS", "Scenario", "ScenarioError", "build", "dataclass"]
