"""The computation trace: forward ops in order, and the autograd graph down to each parameter."""

from __future__ import annotations

import numpy as np
import torch

from loopstep.engine import Phase

from .helpers import collect, scenario


def _leaves(graph):
    return [node for node in graph.walk() if node.param is not None and not node.shared]


def test_torch_trace_records_forward_and_loss_ops_then_the_graph():
    snaps, _ = collect(scenario("linreg", "torch"), iterations=1)
    by_phase = {s.event.phase: s for s in snaps}
    forward_ops = by_phase[Phase.FORWARD].trace.ops
    assert [op.op for op in forward_ops] == ["linear"]
    assert forward_ops[0].inputs[0] == (32, 1) and forward_ops[0].output == (32, 1)
    loss_ops = [op for op in by_phase[Phase.LOSS].trace.ops if op.phase == "loss"]
    assert loss_ops and loss_ops[-1].output == ()
    assert by_phase[Phase.LOSS].trace.graph is None  # nothing walked until backward ran

    graph = by_phase[Phase.BACKWARD].trace.graph
    assert graph.name == "MseLossBackward0"
    leaves = {leaf.param: leaf for leaf in _leaves(graph)}
    assert set(leaves) == {"weight", "bias"}
    params = {p.name: p for p in by_phase[Phase.BACKWARD].params}
    for name, leaf in leaves.items():
        assert leaf.grad.norm == params[name].grad.norm


def test_graph_of_a_deep_model_is_built_without_recursion_limits():
    from torch import nn

    from loopstep.backends.torch import TorchBackend
    from loopstep.engine import BatchPlan, OwnedLoop

    torch.manual_seed(0)
    model = nn.Sequential(*[nn.Sequential(nn.Linear(4, 4), nn.Tanh()) for _ in range(600)])
    backend = TorchBackend(model, torch.optim.SGD(model.parameters(), lr=0.01), nn.MSELoss())
    x, y = torch.randn(3, 4), torch.randn(3, 4)
    loop = OwnedLoop(backend, BatchPlan(train=lambda e: [(x, y)], epochs=1), "deep")
    snaps, _ = collect(loop, iterations=1)
    graph = [s for s in snaps if s.event.phase is Phase.BACKWARD][0].trace.graph
    assert graph.count() > 1000
    names = {leaf.param for leaf in _leaves(graph)}
    assert "0.0.weight" in names  # the first layer is reached (or the cut is announced)


def test_numpy_trace_shows_the_hand_written_formulas_with_numbers():
    snaps, _ = collect(scenario("linreg", "numpy"), iterations=1)
    step = [s for s in snaps if s.event.phase is Phase.STEP][0]
    text = "\n".join(step.trace.formulas)
    assert "dL/dw = 2·mean((pred − y)·x)" in text and "w ← w − lr·w.grad" in text
    leaves = {leaf.param: leaf for leaf in _leaves(step.trace.graph)}
    gw = [p for p in step.params if p.name == "w"][0]
    assert np.isclose(leaves["w"].grad.mean, gw.grad.mean)


def test_continue_mode_records_no_ops():
    from loopstep.engine import Command

    snaps, stepper = collect(scenario("linreg", "torch", epochs=1), command=Command.CONTINUE)
    assert len(snaps) == 1  # only the first phase paused
    assert stepper.last_event.phase is Phase.VALIDATE
    assert not stepper.snapshot().trace.ops
