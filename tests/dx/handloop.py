"""A source whose phases come from a hand-written torch loop, as an intercepted script's do.

Each test writes its loop as ``body(report)``: it runs real torch code and calls
``report(phase)`` after each phase, so the diagnostics see exactly the events and facts a
script would give them (including forwards that no backward follows).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from loopstep.backends.torch.probe import TorchProbe
from loopstep.backends.torch.watch import FixedParams
from loopstep.engine import Command, Phase, PhaseEvent, Settings, SourceLocation, Stepper
from loopstep.engine.diagnostics import Diagnostics
from loopstep.engine.probes import UnusedForward


class HandProbe(TorchProbe):
    """The torch probe, told by the hand loop which forwards no backward followed (a script's
    tracker finds them by walking each backward's graph)."""

    def __init__(self, model, optimizer) -> None:
        super().__init__(
            FixedParams(model), lambda: (model,), lambda: (optimizer,) if optimizer is not None else ()
        )
        self.pending: UnusedForward | None = None
        self.unused: list[UnusedForward] = []

    def forward_ran(self, model, iteration: int) -> None:
        self.settle()
        self.pending = UnusedForward(model.training, torch.is_grad_enabled(), iteration)

    def settle(self) -> None:
        if self.pending is not None:
            self.unused.append(self.pending)
            self.pending = None

    def loader_findings(self) -> list:
        return []

    def unused_forwards(self) -> list[UnusedForward]:
        taken, self.unused = self.unused, []
        return taken


class HandLoop:
    name = "hand loop"
    supports_rewind = False
    params_version = 0

    def __init__(self, model: torch.nn.Module, optimizer, body: Callable) -> None:
        self.probe = HandProbe(model, optimizer)
        self.model = model
        self.body = body
        self.iteration = 0
        self.epoch = 0
        self.batch = -1  # each forward is a batch of its own

    @property
    def inspector(self):
        return self

    def apply_settings(self, settings: Settings) -> None:
        pass

    def run(self, stepper: Stepper) -> None:
        stepper.at_start()

        def report(phase: str, loss: torch.Tensor | None = None, line: int = 0) -> None:
            if phase == "forward":
                self.probe.forward_ran(self.model, self.iteration)
                self.batch += 1
            elif phase == "backward":
                self.probe.pending = None
            event = PhaseEvent(
                Phase(phase),
                self.epoch,
                max(self.batch, 0),
                self.iteration,
                loss=None if loss is None else float(loss.detach()),
                location=SourceLocation("train.py", line) if line else None,
            )
            stepper.at_phase(event)
            if phase == "step":
                self.iteration += 1

        self.body(report)
        self.probe.settle()

    def close(self) -> None:
        self.probe.close()

    def report_phases(self, wanted: bool, asleep_watch: frozenset[str] = frozenset()) -> None:
        """A loop of its own: every phase is reported."""

    def learning_rate(self) -> float | None:
        return None

    # The inspector a snapshot needs: enough for a pause to succeed.
    def model_mode(self) -> str:
        return "train" if self.model.training else "eval"

    def grad_enabled(self) -> bool:
        return torch.is_grad_enabled()

    def param_states(self, brief=False):
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
