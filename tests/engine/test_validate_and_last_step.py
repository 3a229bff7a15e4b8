"""The validate pause shows what validate ran on, "Δ last step" stays the last step's until
the next one, on both backends, and a replay shows the mode each phase ran in."""

from __future__ import annotations

import json
import textwrap

import pytest

from loopstep import cli
from loopstep.engine import Command, Phase, Stepper
from loopstep.scenarios import build


def pauses(backend: str, phases: int) -> list:
    shown = []

    def controller(snapshot, reason):
        shown.append(snapshot)
        return Command.STEP if len(shown) <= phases else Command.QUIT

    Stepper(build("linreg", backend), controller=controller).run()
    return [s for s in shown if s.event is not None]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_the_validate_pause_shows_the_validation_batch(backend):
    validate = next(s for s in pauses(backend, 45) if s.event.phase is Phase.VALIDATE)
    assert set(validate.tensors) == {"x_val", "y_val", "pred_val", "val_loss"}
    assert validate.tensors["x_val"].shape == (64, 1)  # linreg's 64 held-out points
    assert validate.tensors["val_loss"].mean == pytest.approx(validate.loss)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_delta_last_step_stays_until_the_next_step(backend):
    shown = pauses(backend, 12)
    step = next(s for s in shown if s.event.phase is Phase.STEP)
    later = [
        s
        for s in shown
        if s.event.iteration == 1 and s.event.phase in (Phase.FORWARD, Phase.LOSS, Phase.BACKWARD)
    ]
    assert later
    for snapshot in later:
        for before, now in zip(step.params, snapshot.params):
            assert now.change is not None and now.change.mean == pytest.approx(before.change.mean)


def test_both_backends_show_the_same_delta_at_validate():
    numpy_validate = next(s for s in pauses("numpy", 45) if s.event.phase is Phase.VALIDATE)
    torch_validate = next(s for s in pauses("torch", 45) if s.event.phase is Phase.VALIDATE)
    for a, b in zip(numpy_validate.params, torch_validate.params):
        assert a.change is not None and b.change is not None
        assert a.change.mean == pytest.approx(b.change.mean, rel=1e-9)


SCRIPT = """
    import torch
    from torch import nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.1), nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(20, 3), torch.randn(20, 1)
    for epoch in range(2):
        for i in range(2):
            opt.zero_grad()
            nn.functional.mse_loss(model(x[i * 5 : i * 5 + 5]), y[i * 5 : i * 5 + 5]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            nn.functional.mse_loss(model(x[10:]), y[10:])
        model.train()
"""


def test_a_replay_shows_the_mode_of_every_phase(tmp_path, capfd):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(SCRIPT))
    record = tmp_path / "run.lsr"
    assert cli.main(["run", "--no-tui", "--format", "jsonl", "--record", str(record), str(script)]) == 0
    live = [json.loads(line) for line in capfd.readouterr().out.splitlines()]
    assert cli.main(["replay", str(record), "--format", "jsonl"]) == 0
    replayed = [json.loads(line) for line in capfd.readouterr().out.splitlines()]
    modes = [(r["phase"], r["model_mode"], r["grad_enabled"]) for r in live]
    assert modes == [(r["phase"], r["model_mode"], r["grad_enabled"]) for r in replayed]
    assert ("zero_grad", "train", True) in modes[modes.index(("validate", "eval", False)) :]


def test_the_validate_sentence_says_what_eval_and_no_grad_changed():
    """mlp has BatchNorm and Dropout: eval() changes both, and the sentence says so; linreg has
    neither and says nothing of them."""
    from loopstep.engine.explain import explain

    shown = []

    def controller(snapshot, reason):
        shown.append(snapshot)
        return Command.NEXT if len(shown) < 30 else Command.QUIT

    Stepper(build("mlp", "torch"), controller=controller).run()
    validate = next(s for s in shown if s.event is not None and s.event.phase is Phase.VALIDATE)
    assert validate.model_mode == "eval" and not validate.grad_enabled
    assert sorted(validate.extra["mode_layers"]) == ["1 (BatchNorm1d)", "3 (Dropout)"]
    sentence = explain(None, validate)
    assert "under no_grad (no graph built)" in sentence
    assert "(in eval() Dropout keeps every unit and BatchNorm uses its running statistics)" in sentence
    linreg = next(s for s in pauses("torch", 45) if s.event.phase is Phase.VALIDATE)
    assert "Dropout" not in explain(None, linreg) and "under no_grad" in explain(None, linreg)
