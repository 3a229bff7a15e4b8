"""Stop conditions: the grammar, where each one stops, and what it costs when absent."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from loopstep.engine import Command, Phase, Settings, Stepper
from loopstep.engine.breakpoints import ConditionError, parse_condition, parse_conditions
from loopstep.engine.owned_loop import BatchPlan, OwnedLoop
from loopstep.scenarios import build

from .test_diagnostics import nan_model


def stops(loop, conditions, *, iterations=None, zero_grad=True):
    """(iteration, phase, reason) of every pause of a run in continue mode."""
    seen = []

    def controller(snapshot, reason):
        if reason != "start":
            event = snapshot.event
            seen.append((event.iteration, event.phase, reason))
        return Command.CONTINUE

    stepper = Stepper(
        loop,
        controller=controller,
        conditions=parse_conditions(conditions),
        max_iterations=iterations,
        settings=Settings(zero_grad=zero_grad),
    )
    stepper.run()
    assert stepper.error is None, stepper.error and stepper.error.traceback
    return seen


@pytest.mark.parametrize(
    "text",
    [
        "phase=step",
        "iteration=40",
        "epoch=2",
        "nan",
        "grad_norm>10",
        "grad_norm[fc1.weight]>1",
        "loss>3x_median",
        "loss>2.5",
        "update_ratio>0.01",
        "update_ratio<1e-05",
    ],
)
def test_conditions_print_back_as_parsed(text):
    assert str(parse_condition(text)) == text


@pytest.mark.parametrize(
    "text,words",
    [
        ("phase=stp", "unknown phase"),
        ("grad_norm>x", "not a number"),
        ("iteration=-1", "whole number"),
        ("loss>0x_median", "above 0"),
        ("sometimes", "unknown stop condition"),
        ("grad_norm>inf", "finite"),
    ],
)
def test_bad_conditions_say_what_is_wrong(text, words):
    with pytest.raises(ConditionError) as info:
        parse_condition(text)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_phase_condition_stops_at_every_step():
    seen = stops(build("linreg", "numpy"), ["phase=step"], iterations=4)
    assert [(i, p) for i, p, _ in seen] == [(i, Phase.STEP) for i in range(4)]


def test_iteration_and_epoch_stop_where_they_begin():
    seen = stops(build("linreg", "numpy"), ["iteration=5", "epoch=2"], iterations=20)
    assert [(i, p) for i, p, _ in seen] == [(5, Phase.FORWARD), (16, Phase.FORWARD)]  # 8 batches per epoch


def test_loss_spike_fires_without_zero_grad_and_not_with_it():
    assert stops(build("linreg", "numpy"), ["loss>3x_median"], iterations=60) == []
    seen = stops(build("linreg", "numpy"), ["loss>3x_median"], iterations=60, zero_grad=False)
    assert seen and all(p is Phase.LOSS and "median" in r for _, p, r in seen)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_grad_norm_threshold_on_both_backends(backend):
    seen = stops(build("linreg", backend), ["grad_norm>20"], iterations=30, zero_grad=False)
    assert seen and seen[0][1] is Phase.BACKWARD and "grad_norm" in seen[0][2]
    assert float(seen[0][2].split()[2]) > 20


def test_per_parameter_grad_norm_and_an_unknown_name():
    seen = stops(build("mlp"), ["grad_norm[6.bias]>0.05"], iterations=10)
    assert seen and "grad_norm[6.bias]" in seen[0][2]
    seen = stops(build("mlp"), ["grad_norm[nope]>1"], iterations=1)
    assert seen[0][2].startswith("stop condition refused: grad_norm[nope]>1")
    assert "no trainable parameter named 'nope'" in seen[0][2]


def test_a_condition_naming_no_parameter_is_bad_input_in_text_mode(cli):
    result = cli("trace", "--break", "grad_norm[nope]>1", "--on-stop", "continue")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "no trainable parameter named 'nope' (some: w, b)" in result.stderr


def test_update_ratio_above_and_below():
    assert stops(build("mlp"), ["update_ratio>1e-9"], iterations=2)[0][1] is Phase.STEP
    assert stops(build("mlp"), ["update_ratio<1e-9"], iterations=5) == []
    assert len(stops(build("mlp"), ["update_ratio<10"], iterations=3)) == 3


def loop_over(model, n=8, lr=0.01):
    torch.manual_seed(0)
    batches = [(torch.randn(4, 4), torch.randn(4, 1)) for _ in range(n)]
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    from loopstep.backends.torch import TorchBackend

    plan = BatchPlan(train=lambda epoch: batches, epochs=10, batches_per_epoch=n)
    return OwnedLoop(TorchBackend(model, optimizer, nn.MSELoss()), plan, "nan model")


def test_nan_stop_names_the_submodule_that_made_the_first_nan():
    seen = stops(loop_over(nan_model(at=3)), ["nan"])
    iteration, phase, reason = seen[0]
    assert (iteration, phase) == (3, Phase.FORWARD)
    assert reason == "break: NaN/Inf first produced by module encoder.layers.2.attn"


def test_nan_in_the_input_is_named_as_such():
    model = nn.Sequential(nn.Linear(4, 1))
    loop = loop_over(model)
    batches = list(loop.plan.train(0))
    batches[2] = (batches[2][0] * float("nan"), batches[2][1])
    loop.plan = BatchPlan(train=lambda epoch: batches, epochs=1, batches_per_epoch=8)
    assert stops(loop, ["nan"])[0] == (2, Phase.FORWARD, "break: NaN/Inf in the input batch")


class _Huge(nn.Module):
    """Outputs values near the top of their dtype's range, finite, and a tuple from then on."""

    def forward(self, x):
        big = torch.full_like(x, torch.finfo(x.dtype).max / 2)
        return x + big - big, big  # finite, and its extremes' sum overflows any float type


class _Pair(nn.Module):
    def __init__(self, at: int):
        super().__init__()
        self.calls, self.at, self.huge, self.head = 0, at, _Huge(), nn.Linear(4, 1)

    def forward(self, x):
        x, big = self.huge(x)
        self.calls += 1
        return self.head(x * float("nan") if self.calls == self.at else x) + 0 * big.sum().clamp(max=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_huge_finite_activations_are_no_nan_and_the_first_nan_after_them_is_named(dtype):
    torch.set_default_dtype(dtype)
    try:
        seen = stops(loop_over(_Pair(at=3)), ["nan"])
    finally:
        torch.set_default_dtype(torch.float32)
    assert seen[0] == (2, Phase.FORWARD, "break: NaN/Inf first produced by module head")


def test_a_step_that_blows_the_parameters_up_stops_there():
    seen = stops(loop_over(nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 1)), lr=float("inf")), ["nan"])
    assert seen[0] == (0, Phase.STEP, "break: NaN/Inf in the parameters after the step")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy warns as the run overflows
def test_nan_on_numpy_stops_at_the_loss():
    seen = stops(build("linreg", "numpy", lr=1.5), ["nan"], iterations=400)
    assert seen and seen[0][1] in (Phase.FORWARD, Phase.LOSS)


def test_activation_hooks_exist_only_while_a_nan_condition_is_set():
    loop = build("mlp")
    probe = loop.backend.probe
    stepper = Stepper(
        loop, conditions=parse_conditions(["grad_norm>100"]), controller=lambda s, r: Command.QUIT
    )
    stepper.run()
    assert probe._nonfinite_handles == []
    loop = build("mlp")
    probe = loop.backend.probe
    nan = parse_conditions(["nan"])
    from torch.nn.modules import module as module_api

    global_hooks = len(module_api._global_forward_hooks) + len(module_api._global_forward_pre_hooks)
    seen = []

    def look(snapshot, reason):
        if snapshot.event is not None:
            seen.append(len(module_api._global_forward_hooks) + len(module_api._global_forward_pre_hooks))
            model = loop.backend.model  # nothing on the model itself: it pickles, its hook dicts stay empty
            seen.append(all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules()))
            return Command.QUIT
        return Command.STEP

    stepper = Stepper(loop, conditions=nan, controller=look)
    stepper.run()
    assert seen == [global_hooks + 2, True]  # torch's global hooks, filtered to this model
    assert probe._nonfinite_handles == []  # gone with the run
    assert len(module_api._global_forward_hooks) + len(module_api._global_forward_pre_hooks) == global_hooks


def test_trace_break_prints_only_the_stops(cli):
    result = cli(
        "trace",
        "linreg",
        "--no-zero-grad",
        "--break",
        "grad_norm>30",
        "--iterations",
        "20",
        "--format",
        "jsonl",
        "--on-stop",
        "continue",
    )
    assert result.returncode == 0, result.stderr
    import json

    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records and all(
        r["phase"] == "backward" and r["reason"].startswith("break: grad_norm") for r in records
    )


def test_trace_break_with_a_bad_condition_is_one_line_exit_2(cli):
    result = cli("trace", "--break", "grad_norm>>3")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "--break" in result.stderr
