"""The metrics charted over time (``g``), on scripts shaped like real trainers, against what
the script computed itself: each parameter's gradient norm at the step, the norm a clipped
update used (after clip_grad_norm_, not before), the lr a warm-up and a scheduler put in force."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

pytest.importorskip("torch")

from loopstep.backends.torch.intercept import ScriptSource  # noqa: E402
from loopstep.engine import Command, Stepper  # noqa: E402

SCRIPTS = Path(__file__).parents[1] / "scripts"


def stepped(name: str, tmp_path, monkeypatch) -> tuple[dict, list[dict]]:
    """The script under a stepper pausing at every phase (every step measured), and what it recorded."""
    monkeypatch.setenv("LOOPSTEP_TEST_RECORD", str(tmp_path))
    monkeypatch.syspath_prepend(str(SCRIPTS))
    stepper = Stepper(ScriptSource(str(SCRIPTS / f"{name}.py")), controller=lambda s, r: Command.STEP)
    stepper.run()
    assert stepper.error is None, stepper.error and stepper.error.traceback
    records = [json.loads(line) for line in (tmp_path / f"{name}.jsonl").read_text().splitlines()]
    return stepper.metrics.series, records


def test_each_parameters_gradient_norm_is_the_one_the_step_used(tmp_path, monkeypatch):
    series, records = stepped("plain_loop", tmp_path, monkeypatch)
    grads = [r["norms"] for r in records if r["kind"] == "grads"]
    assert len(grads) == len(series["grad_norm"]) > 5
    for i, norms in enumerate(grads):
        for name, norm in norms.items():
            [point] = [p for p in series[f"grad_norm[{name}]"] if p.iteration == i]
            assert point.value == pytest.approx(norm, rel=1e-5)
        total = math.sqrt(sum(n * n for n in norms.values()))
        assert series["grad_norm"][i].value == pytest.approx(total, rel=1e-5)


def test_a_clipped_update_is_measured_after_the_clipping(tmp_path, monkeypatch):
    series, records = stepped("manual_sgd_clip", tmp_path, monkeypatch)
    before = [math.sqrt(sum(n * n for n in r["norms"].values())) for r in records if r["kind"] == "grads"]
    assert len(before) == len(series["grad_norm"]) > 3
    clipped = 0
    for norm, point in zip(before, series["grad_norm"]):
        assert point.value == pytest.approx(min(norm, 0.25), rel=1e-4)  # clip_grad_norm_(…, 0.25)
        clipped += norm > 0.25
    assert clipped  # some updates were clipped: the two numbers differ there
    assert "lr" not in series  # an update by hand, no optimizer: no lr to chart


def test_the_lr_is_the_one_a_warm_up_and_a_scheduler_put_in_force_at_each_step(tmp_path, monkeypatch):
    series, records = stepped("sched_warmup", tmp_path, monkeypatch)
    assert [p.value for p in series["lr"]] == pytest.approx(
        [r["value"] for r in records if r["kind"] == "lr"], rel=1e-9
    )


def test_a_gan_measures_each_optimizers_own_parameters_at_its_own_step(tmp_path, monkeypatch):
    """netD's step uses netD's .grad, netG's netG's (whose backward also wrote into netD's):
    each parameter is measured at the step of the optimizer that steps it."""
    series, records = stepped("gan", tmp_path, monkeypatch)
    grads = [r["norms"] for r in records if r["kind"] == "grads"]  # netD's, then netG's, per batch
    d_steps, g_steps = series["grad_norm:optimizerD"], series["grad_norm:optimizerG"]
    assert len(d_steps) == len(g_steps) == len(grads) // 2 > 2 and "grad_norm" not in series
    for i in range(len(d_steps)):
        for point, norms, model in (
            (d_steps[i], grads[2 * i], "netD"),
            (g_steps[i], grads[2 * i + 1], "netG"),
        ):
            assert point.iteration == i
            assert point.value == pytest.approx(math.sqrt(sum(n * n for n in norms.values())), rel=1e-5)
            for name, norm in norms.items():
                [one] = [p for p in series[f"grad_norm[{model}.{name}]"] if p.iteration == i]
                assert one.value == pytest.approx(norm, rel=1e-5)
