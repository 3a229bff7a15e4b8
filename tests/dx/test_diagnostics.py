"""Each diagnosis on a loop that has the bug, and silence on loops that do not."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from loopstep.engine import Command, Settings, Stepper
from loopstep.engine.diagnostics import CATALOG, Diagnostics
from loopstep.scenarios import build

from .handloop import diagnose, ids

ITERATIONS = 40


def data(n_batches: int = 8, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_batches, 16, 4, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1
    return list(zip(x, y))


def regression(dropout: bool = False, seed: int = 0):
    torch.manual_seed(seed)
    layers = [nn.Linear(4, 16), nn.ReLU()] + ([nn.Dropout(0.1)] if dropout else []) + [nn.Linear(16, 1)]
    model = nn.Sequential(*layers)
    return model, torch.optim.SGD(model.parameters(), lr=0.01)


def clean_body(model, opt, *, evaluate=True, iterations=ITERATIONS):
    batches = data()

    def body(report):
        for i in range(iterations):
            x, y = batches[i % len(batches)]
            model.train()
            pred = model(x)
            report("forward")
            loss = nn.functional.mse_loss(pred, y)
            report("loss", loss)
            loss.backward()
            report("backward", loss)
            opt.step()
            report("step", loss)
            opt.zero_grad()
            report("zero_grad")
            if evaluate and i % 10 == 9:
                model.eval()
                with torch.no_grad():
                    model(batches[0][0])
                    report("forward")

    return body


def run_owned(name, backend=None, *, zero_grad=True, lr=None, iterations=ITERATIONS) -> Diagnostics:
    diagnostics = Diagnostics(watch_activations=True, grad_every=1)
    stepper = Stepper(
        build(name, backend, lr=lr),
        controller=lambda s, r: Command.CONTINUE,
        settings=Settings(zero_grad=zero_grad, lr=lr),
        observers=[diagnostics],
        max_iterations=iterations,
    )
    stepper.run()
    assert stepper.error is None
    diagnostics.finish()
    return diagnostics


# ----- clean loops must not be flagged --------------------------------------------------------
@pytest.mark.parametrize("name,backend", [("linreg", "numpy"), ("linreg", "torch"), ("mlp", "torch")])
def test_builtin_scenarios_are_clean(name, backend):
    assert run_owned(name, backend).findings == []


def test_a_correct_hand_loop_with_dropout_and_evaluation_is_clean():
    model, opt = regression(dropout=True)
    assert diagnose(model, opt, clean_body(model, opt)).findings == []


def test_zero_grad_before_backward_is_also_correct():
    model, opt = regression()
    batches = data()

    def body(report):
        for i in range(ITERATIONS):
            x, y = batches[i % 8]
            opt.zero_grad()
            report("zero_grad")
            loss = nn.functional.mse_loss(model(x), y)
            report("forward")
            report("loss", loss)
            loss.backward()
            report("backward", loss)
            opt.step()
            report("step", loss)

    assert diagnose(model, opt, body).findings == []


# ----- zero_grad ---------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_zero_grad_off_is_an_error(backend):
    diagnostics = run_owned("linreg", backend, zero_grad=False)
    found = {f.id: f for f in diagnostics.findings}
    assert found["zero-grad-missing"].severity == "error"
    assert found["zero-grad-missing"].iteration == 1  # the first backward after a step
    assert "loss-diverging" in found  # the loss runs away, as the notes on skipping zero_grad say


def test_a_script_that_never_calls_zero_grad_is_flagged():
    model, opt = regression()
    batches = data()

    def body(report):
        for i in range(10):
            x, y = batches[i % 8]
            loss = nn.functional.mse_loss(model(x), y)
            report("forward")
            report("loss", loss)
            loss.backward()
            report("backward", loss, line=12)
            opt.step()
            report("step", loss)

    found = {f.id: f for f in diagnose(model, opt, body).findings}
    assert found["zero-grad-missing"].location == "train.py:12"


def test_deliberate_accumulation_is_info_with_k():
    model, opt = regression()
    batches = data()

    def body(report):
        for step in range(10):
            for micro in range(4):
                x, y = batches[(4 * step + micro) % 8]
                loss = nn.functional.mse_loss(model(x), y) / 4
                report("forward")
                report("loss", loss)
                loss.backward()
                report("backward", loss)
            opt.step()
            report("step", loss)
            opt.zero_grad()
            report("zero_grad")

    findings = diagnose(model, opt, body).findings
    assert [f.id for f in findings] == ["grad-accumulation"]
    assert findings[0].severity == "info" and "k=4" in findings[0].message


def test_grads_cleared_without_a_reported_zero_grad_are_not_flagged():
    model, opt = regression()
    batches = data()

    def body(report):
        for i in range(10):
            x, y = batches[i % 8]
            loss = nn.functional.mse_loss(model(x), y)
            report("forward")
            report("loss", loss)
            loss.backward()
            report("backward", loss)
            opt.step()
            report("step", loss)
            model.zero_grad()  # a reset the source does not see as a phase

    assert "zero-grad-missing" not in ids(diagnose(model, opt, body))


# ----- evaluation ----------------------------------------------------------------------------
def eval_body(model, opt, *, eval_mode: bool, no_grad: bool):
    batches = data()

    def body(report):
        for i in range(12):
            x, y = batches[i % 8]
            model.train()
            loss = nn.functional.mse_loss(model(x), y)
            report("forward")
            report("loss", loss)
            loss.backward()
            report("backward", loss)
            opt.step()
            report("step", loss)
            opt.zero_grad()
            report("zero_grad")
            if i % 4 == 3:
                if eval_mode:
                    model.eval()
                with torch.no_grad() if no_grad else torch.enable_grad():
                    val = nn.functional.mse_loss(model(batches[0][0]), batches[0][1])
                    report("forward")  # how it ran: inside the block, as a forward hook sees it
                report("loss", val)

    return body


def test_eval_in_train_mode_with_dropout():
    model, opt = regression(dropout=True)
    assert ids(diagnose(model, opt, eval_body(model, opt, eval_mode=False, no_grad=True))) == {
        "eval-in-train-mode"
    }


def test_eval_in_train_mode_is_fine_without_dropout_or_batchnorm():
    model, opt = regression(dropout=False)
    assert ids(diagnose(model, opt, eval_body(model, opt, eval_mode=False, no_grad=True))) == set()


def test_eval_builds_graph_without_no_grad():
    model, opt = regression(dropout=True)
    assert ids(diagnose(model, opt, eval_body(model, opt, eval_mode=True, no_grad=False))) == {
        "eval-builds-graph"
    }


# ----- parameters ----------------------------------------------------------------------------
class WithUnused(nn.Module):
    def __init__(self):
        super().__init__()
        self.used = nn.Linear(4, 1)
        self.unused = nn.Linear(4, 1)

    def forward(self, x):
        return self.used(x)


def test_param_no_grad_names_the_unused_parameter():
    torch.manual_seed(0)
    model = WithUnused()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    found = {f.id: f for f in diagnose(model, opt, clean_body(model, opt, evaluate=False)).findings}
    assert set(found) == {"param-no-grad"}
    assert "unused.weight" in found["param-no-grad"].message and "used.weight" not in found[
        "param-no-grad"
    ].message.replace("unused.weight", "")


def test_param_not_in_optimizer_is_an_error():
    model, _ = regression()
    opt = torch.optim.SGD(model[2].parameters(), lr=0.01)  # forgot the first layer
    found = {f.id: f for f in diagnose(model, opt, clean_body(model, opt, evaluate=False)).findings}
    assert found["param-not-in-optimizer"].severity == "error"
    assert "0.weight" in found["param-not-in-optimizer"].message


# ----- numbers ----------------------------------------------------------------------------------
class Blows(nn.Module):
    """Finite until ``at`` forwards have run, then log of a negative number."""

    def __init__(self, at: int):
        super().__init__()
        self.at = at
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return torch.log(x - 1e6) if self.calls > self.at else x


def nan_model(at: int):
    torch.manual_seed(0)
    encoder = nn.Module()
    encoder.layers = nn.ModuleList([nn.Linear(4, 8), nn.Tanh(), nn.Sequential()])
    encoder.layers[2].attn = Blows(at)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder
            self.head = nn.Linear(8, 1)

        def forward(self, x):
            for layer in self.encoder.layers:
                x = layer(x)
            return self.head(x)

    return Net()


def test_nonfinite_names_the_module_that_made_it():
    model = nan_model(at=5)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    found = {f.id: f for f in diagnose(model, opt, clean_body(model, opt, evaluate=False)).findings}
    assert found["nonfinite"].severity == "error"
    assert found["nonfinite"].iteration == 5
    assert "encoder.layers.2.attn" in found["nonfinite"].message


def test_exploding_grad_when_one_batch_is_huge():
    model, opt = regression()
    batches = data()
    batches[5] = (batches[5][0] * 1e3, batches[5][1] * 1e3)
    opt = torch.optim.SGD(model.parameters(), lr=1e-9)  # keep the run finite after the spike

    def body(report):
        for i in range(14):
            x, y = batches[i % 8] if i >= 8 else batches[(i + 6) % 8 if i < 8 else 0]
            x, y = batches[5] if i == 12 else batches[i % 5]
            loss = nn.functional.mse_loss(model(x), y)
            report("forward")
            report("loss", loss)
            loss.backward()
            report("backward", loss)
            opt.step()
            report("step", loss)
            opt.zero_grad()
            report("zero_grad")

    found = {f.id: f for f in diagnose(model, opt, body).findings}
    assert found["exploding-grad"].iteration == 12


def test_vanishing_grad_names_the_starved_layer():
    torch.manual_seed(0)
    layers = [nn.Linear(4, 16), nn.Sigmoid()]
    for _ in range(10):  # a deep stack of saturating layers with small weights
        layers += [nn.Linear(16, 16), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(16, 1))
    with torch.no_grad():
        for layer in model[2:-1:2]:
            layer.weight.mul_(0.1)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    found = {
        f.id: f for f in diagnose(model, opt, clean_body(model, opt, evaluate=False, iterations=10)).findings
    }
    assert "0.weight" in found["vanishing-grad"].message


def test_a_deep_network_with_healthy_gradients_is_not_vanishing():
    torch.manual_seed(0)
    layers = [nn.Linear(4, 16), nn.ReLU()]
    for _ in range(10):
        layers += [nn.Linear(16, 16), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(16, 1))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    assert "vanishing-grad" not in ids(
        diagnose(model, opt, clean_body(model, opt, evaluate=False, iterations=10))
    )


def test_loss_flat_when_the_learning_rate_is_zero():
    model, _ = regression()
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    found = ids(diagnose(model, opt, clean_body(model, opt, evaluate=False)))
    assert found == {"loss-flat"}


def test_loss_diverging_with_a_learning_rate_too_large():
    diagnostics = run_owned("linreg", "numpy", lr=0.3, iterations=60)
    assert "loss-diverging" in ids(diagnostics) or "nonfinite" in ids(diagnostics)


def test_every_finding_has_why_and_fix():
    for severity, why, fix in CATALOG.values():
        assert severity in ("info", "warning", "error") and why.strip() and fix.strip()
