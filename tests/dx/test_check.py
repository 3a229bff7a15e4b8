"""loopstep check: one line per finding, exit 1 on errors, and scripts that must stay clean."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from loopstep.cli import main

SCRIPTS = Path(__file__).parent / "scripts"
RUN_SCRIPTS = Path(__file__).parents[1] / "scripts"  # the clean scripts of `loopstep run`
needs_run = pytest.mark.skipif(
    importlib.util.find_spec("loopstep.backends.torch.intercept") is None,
    reason="scripts are run through `loopstep run`'s interception",
)


def check(capsys, *args: str) -> tuple[int, str]:
    code = main(["check", *args])
    return code, capsys.readouterr().out


def test_a_clean_scenario_exits_0(capsys):
    code, out = check(capsys, "--iterations", "40", "mlp")
    assert code == 0 and out == "no findings in 40 iterations\n"


def test_zero_grad_off_exits_1_with_one_line_per_finding(capsys):
    code, out = check(capsys, "--no-zero-grad", "--iterations", "60", "linreg")
    lines = out.splitlines()
    assert code == 1
    assert lines[0].split()[:5] == ["zero-grad-missing", "error", "iter", "1", "-"]
    assert lines[-1].endswith("in 60 iterations") and "(1 error)" in lines[-1]


def test_jsonl_gives_every_field(capsys):
    code, out = check(capsys, "--format", "jsonl", "--no-zero-grad", "--iterations", "5", "linreg")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and records[0]["id"] == "zero-grad-missing"
    assert set(records[0]) == {"id", "severity", "iteration", "location", "message", "why", "fix"}


def test_module_factory(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    code, out = check(capsys, "--iterations", "12", "factories:unused_layer")
    assert code == 0 and out.startswith("param-no-grad  warning") and "extra.weight" in out
    code, out = check(capsys, "--iterations", "12", "factories:half_optimizer")
    assert code == 1 and out.startswith("param-not-in-optimizer  error")


def test_bad_targets_are_usage_errors(cli):
    for args in (["check", "nosuch"], ["check", "missing.py"], ["check", "linreg", "extra"]):
        result = cli(*args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, args


BUGGY = {
    "zero_grad_missing.py": ("zero-grad-missing", 1),
    "eval_in_train_mode.py": ("eval-in-train-mode", 0),
    "eval_builds_graph.py": ("eval-builds-graph", 0),
    "param_no_grad.py": ("param-no-grad", 0),
    "param_not_in_optimizer.py": ("param-not-in-optimizer", 1),
    "nonfinite.py": ("nonfinite", 1),
    "exploding_grad.py": ("exploding-grad", 0),
    "vanishing_grad.py": ("vanishing-grad", 0),
    "loss_diverging.py": ("loss-diverging", 0),
    "loss_flat.py": ("loss-flat", 0),
}


@needs_run
@pytest.mark.parametrize("script", sorted(BUGGY))
def test_each_buggy_script_gets_its_finding(capsys, script):
    expected, code_wanted = BUGGY[script]
    code, out = check(capsys, "--format", "jsonl", "--iterations", "60", str(SCRIPTS / script))
    found = {r["id"]: r for r in map(json.loads, out.splitlines())}
    assert expected in found, out
    assert code == code_wanted
    assert found[expected]["location"].startswith(str(SCRIPTS / script) + ":")
    if expected == "nonfinite":
        assert "encoder.layers.2.attn" in found[expected]["message"] and found[expected]["iteration"] == 3


@needs_run
@pytest.mark.parametrize(
    "script",
    [SCRIPTS / "clean_train_eval.py", SCRIPTS / "clean_accumulation.py", SCRIPTS / "clean_wgan.py"]
    + sorted(p for p in RUN_SCRIPTS.glob("*.py") if not p.name.startswith("_") and p.name != "raises.py"),
    ids=lambda p: p.name,
)
def test_correct_scripts_are_not_flagged(capsys, script):
    code, out = check(capsys, "--format", "jsonl", "--iterations", "40", str(script))
    severities = {json.loads(line)["id"]: json.loads(line)["severity"] for line in out.splitlines()}
    assert code == 0 and all(s == "info" for s in severities.values()), out


@needs_run
def test_a_parameter_no_backward_reaches_is_judged_at_its_own_optimizers_steps(capsys):
    """A WGAN's first ten backwards are the critic's: the generator's parameters are judged
    at the generator's steps, where only a layer its forward never calls has no .grad."""
    code, out = check(
        capsys, "--format", "jsonl", "--iterations", "40", str(SCRIPTS / "clean_wgan.py"), "--unused-layer"
    )
    found = {r["id"]: r for r in map(json.loads, out.splitlines())}
    assert code == 0 and set(found) == {"param-no-grad"}, out
    message = found["param-no-grad"]["message"]
    assert "optimizerG" in message and "netG.extra.weight" in message and "netG.extra.bias" in message
    assert "netG.main" not in message and "netD" not in message
