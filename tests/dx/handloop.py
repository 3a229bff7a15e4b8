"""A source whose phases come from a hand-written torch loop, as an intercepted script's do.

Each test writes its loop as ``body(report)``: it runs real torch code and calls
``report(phase)`` after each phase, so the diagnostics see exactly the events and facts a
script would give them (including forwards that no backward follows).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from loopstep.backends.torch.probe import TorchProbe
from loopstep.engine import Command, Phase, PhaseEvent, Settings, SourceLocation, Stepper
from loopstep.engine.diagnostics import Diagnostics


class HandLoop:
    name = "hand loop"

    def __init__(self, model: torch.nn.Module, optimizer, body: Callable) -> None:
        self.probe = TorchProbe(model, [optimizer] if optimizer is not None else [])
        self.model = model
        self.body = body
        self.iteration = 0
        self.epoch = 0

    @property
    def inspector(self):
        return self

    def apply_settings(self, settings: Settings) -> None:
        pass

    def run(self, stepper: Stepper) -> None:
        stepper.at_start()

        def report(phase: str, loss: torch.Tensor | None = None, line: int = 0) -> None:
            event = PhaseEvent(
                Phase(phase),
                self.epoch,
                self.iteration,
                self.iteration,
                loss=None if loss is None else float(loss.detach()),
                location=SourceLocation("train.py", line) if line else None,
            )
            stepper.at_phase(event)
            if phase == "step":
                self.iteration += 1

        self.body(report)

    # The inspector a snapshot needs: enough for a pause to succeed.
    def model_mode(self) -> str:
        return "train" if self.model.training else "eval"

    def grad_enabled(self) -> bool:
        return torch.is_grad_enabled()

    def param_states(self):
        return ()

    def tensors(self):
        return {}

    def trace(self):
        from loopstep.engine import Trace

        return Trace()

    def tensor_values(self, name):
        return None


def diagnose(model, optimizer, body, *, iterations: int = 1000) -> Diagnostics:
    """Run the hand loop with diagnostics on (every backward checked) and return them."""
    diagnostics = Diagnostics(watch_activations=True, grad_every=1)
    stepper = Stepper(
        HandLoop(model, optimizer, body),
        controller=lambda snapshot, reason: Command.CONTINUE,
        observers=[diagnostics],
        max_iterations=iterations,
    )
    stepper.run()
    assert stepper.error is None, stepper.error.traceback
    diagnostics.finish()
    return diagnostics


def ids(diagnostics: Diagnostics) -> set[str]:
    return {f.id for f in diagnostics.findings}
