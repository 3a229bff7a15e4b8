"""What a pause of a script shows is what the script had at that moment: the validate pause
before the next zero_grad wipes .grad, the model at a zero_grad before any forward, and an
error raised between two phases blamed on neither."""

from __future__ import annotations

import textwrap

import pytest

torch = pytest.importorskip("torch")

from loopstep.backends.torch.intercept import ScriptSource  # noqa: E402
from loopstep.engine import Command, Phase, Stepper  # noqa: E402

EVAL_EACH_EPOCH = """
    import torch
    from torch import nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(20, 3), torch.randn(20, 1)
    for epoch in range(2):
        model.train()
        for i in range(2):
            opt.zero_grad()
            nn.functional.mse_loss(model(x[i * 5 : i * 5 + 5]), y[i * 5 : i * 5 + 5]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            val = nn.functional.mse_loss(model(x[10:]), y[10:]).item()
        print("GRADNORM", torch.linalg.vector_norm(model[0].weight.grad).item(), "VAL", val)
"""


def run(tmp_path, body: str, max_iterations: int | None = None):
    path = tmp_path / "train.py"
    path.write_text(textwrap.dedent(body))
    shown = []

    def controller(snapshot, reason):
        shown.append(snapshot)
        return Command.STEP

    stepper = Stepper(ScriptSource(str(path)), controller=controller, max_iterations=max_iterations)
    stepper.run()
    return stepper, shown


def test_the_validate_pause_shows_grad_as_the_pass_left_it(tmp_path, capfd):
    stepper, shown = run(tmp_path, EVAL_EACH_EPOCH)
    assert stepper.error is None
    printed = [line.split() for line in capfd.readouterr().out.splitlines() if line.startswith("GRADNORM")]
    validates = [s for s in shown if s.event is not None and s.event.phase is Phase.VALIDATE]
    assert len(validates) == len(printed) == 2
    for snapshot, line in zip(validates, printed):
        grad = snapshot.param("0.weight").grad
        assert grad is not None and grad.norm == pytest.approx(float(line[1]), rel=1e-5)
        assert snapshot.loss == pytest.approx(float(line[3]), rel=1e-6)


def test_a_zero_grad_before_any_forward_shows_the_model(tmp_path):
    stepper, shown = run(tmp_path, EVAL_EACH_EPOCH, max_iterations=1)
    first = next(s for s in shown if s.event is not None)
    assert first.event.phase is Phase.ZERO_GRAD
    assert [p.name for p in first.params] == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_an_error_between_two_phases_is_after_the_last_one(tmp_path):
    body = EVAL_EACH_EPOCH.replace(
        "            opt.step()",
        "            if epoch == 1: raise RuntimeError('boom')\n            opt.step()",
    )
    stepper, _ = run(tmp_path, body)
    assert stepper.error is not None and not stepper.error.internal
    assert stepper.error.where == "after backward (epoch 1, iteration 2)"


def test_an_error_inside_a_phase_is_during_it(tmp_path):
    body = EVAL_EACH_EPOCH.replace(
        "model(x[i * 5 : i * 5 + 5])", "model(x[i * 5 : i * 5 + 5] if epoch == 0 else x[:, :2])"
    )
    stepper, _ = run(tmp_path, body)
    # The forward of epoch 1's first batch: iteration 2. The user's own error, not one of loopstep's
    # (a hook removed while torch iterates over them as the forward unwinds).
    assert stepper.error is not None and stepper.error.where == "during forward (epoch 1, iteration 2)"
    assert "mat1 and mat2 shapes cannot be multiplied" in str(stepper.error.exception)
