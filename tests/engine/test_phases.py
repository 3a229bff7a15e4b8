"""Phase order, validate semantics, and the three states of .grad."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from loopstep.backends.torch import TorchBackend
from loopstep.engine import BatchPlan, OwnedLoop, Phase

from .helpers import collect, scenario

ITERATION = ["forward", "loss", "backward", "step", "zero_grad"]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_phase_order_with_validate_at_epoch_end(backend):
    snaps, _ = collect(scenario("linreg", backend, epochs=2))
    phases = [s.event.phase.value for s in snaps]
    per_epoch = ITERATION * 8 + ["validate"]
    assert phases == per_epoch * 2
    iterations = [s.event.iteration for s in snaps if s.event.phase is Phase.FORWARD]
    assert iterations == list(range(16))
    assert [s.event.epoch for s in snaps if s.event.phase is Phase.VALIDATE] == [0, 1]
    # loss is unknown until the loss phase of each iteration
    assert all(s.event.loss is None for s in snaps if s.event.phase is Phase.FORWARD)
    assert all(s.event.loss is not None for s in snaps if s.event.phase is Phase.LOSS)


class ModeSpy(nn.Module):
    """Records the mode and grad mode of every call, with BatchNorm/Dropout inside."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Dropout(0.5), nn.Linear(4, 1))
        self.calls = []

    def forward(self, x):
        out = self.net(x)
        self.calls.append((self.training, torch.is_grad_enabled(), out.requires_grad))
        return out


def _spy_loop(zero_grad_set_to_none=True, epochs=1):
    torch.manual_seed(0)
    model = ModeSpy()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(16, 2)
    y = torch.randn(16, 1)
    backend = TorchBackend(model, opt, nn.MSELoss())
    if not zero_grad_set_to_none:
        backend.zero_grad_to_none = False
    plan = BatchPlan(
        train=lambda epoch: [(x[:8], y[:8]), (x[8:], y[8:])], epochs=epochs, val=lambda: [(x, y)]
    )
    return OwnedLoop(backend, plan, "spy"), model


def test_validate_runs_in_eval_mode_without_a_graph_and_restores_train():
    loop, model = _spy_loop()
    snaps, _ = collect(loop)
    train_calls = model.calls[:2]
    val_call = model.calls[2]
    assert all(training and grad for training, grad, _ in train_calls)
    assert val_call == (False, False, False)  # eval mode, no_grad, no graph built
    assert model.training  # train mode restored afterwards
    val_snap = [s for s in snaps if s.event.phase is Phase.VALIDATE][0]
    assert (val_snap.model_mode, val_snap.grad_enabled) == ("eval", False)
    assert val_snap.val_losses and val_snap.val_losses[-1].loss > 0
    forward_snap = snaps[0]
    assert (forward_snap.model_mode, forward_snap.grad_enabled) == ("train", True)


def test_grad_none_zeros_and_values_are_three_states():
    loop, _ = _spy_loop()
    snaps, _ = collect(loop, iterations=1)
    by_phase = {s.event.phase: s for s in snaps}
    assert all(p.grad is None for p in by_phase[Phase.FORWARD].params)
    assert all(p.grad is not None and not p.grad.zeros for p in by_phase[Phase.BACKWARD].params)
    # torch's default zero_grad sets .grad to None
    assert all(p.grad is None for p in by_phase[Phase.ZERO_GRAD].params)

    loop, _ = _spy_loop(zero_grad_set_to_none=False)
    snaps, _ = collect(loop, iterations=1)
    zeroed = [s for s in snaps if s.event.phase is Phase.ZERO_GRAD][0]
    assert all(p.grad is not None and p.grad.zeros for p in zeroed.params)
    assert all(p.grad_passes == 0 for p in zeroed.params)


def test_numpy_zero_grad_resets_to_zeros_not_none():
    snaps, _ = collect(scenario("linreg", "numpy"), iterations=1)
    first, last = snaps[0], snaps[-1]
    assert all(p.grad is not None and p.grad.zeros for p in first.params)  # w_grad = b_grad = 0.0
    assert all(p.grad is not None and p.grad.zeros for p in last.params)
