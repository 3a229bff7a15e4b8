"""One target resolver: every command takes the same target forms with the same option rules."""

from __future__ import annotations

import json
import textwrap

import pytest

from loopstep import cli
from loopstep.targets import Kind, TargetError, classify

EXPERIMENT = """
    import torch, loopstep


    def make():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
        data = [(torch.randn(32, 2), torch.randint(0, 2, (32,))) for _ in range(10)]
        return loopstep.Experiment(
            model=model,
            optimizer=torch.optim.Adam(model.parameters(), lr=1e-2),
            loss_fn=torch.nn.CrossEntropyLoss(),
            train_data=data,
            val_data=data[:2],
            epochs=3,
        )
"""

SCRIPT = """
    import sys, torch
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    print("script args", sys.argv[1:], file=sys.stderr)
    for _ in range(20):
        model(torch.ones(4, 2)).pow(2).mean().backward()
        opt.step()
        opt.zero_grad()
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "experiment.py").write_text(textwrap.dedent(EXPERIMENT))
    (tmp_path / "train.py").write_text(textwrap.dedent(SCRIPT))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_classify_names_each_kind(project, tmp_path):
    (tmp_path / "run.lsr").write_bytes(b"loopstep-recording 2\n")
    assert classify("linreg").kind is Kind.SCENARIO
    assert classify("train.py", ("--lr", "1")).kind is Kind.SCRIPT
    assert classify("experiment.py:make").kind is Kind.FACTORY
    assert classify("experiment:make").kind is Kind.FACTORY
    assert classify("run.lsr").kind is Kind.RECORDING
    with pytest.raises(TargetError, match="only for scripts"):
        classify("linreg", ("extra",))
    with pytest.raises(TargetError, match="unknown scenario 'nope'"):
        classify("nope")
    assert classify("train.py").label == "train.py"  # the status line's name: never the argv


# The target forms `run` accepts, each with a loopstep option after it (a script's go to it).
FORMS = [
    ["experiment.py:make", "--iterations", "5"],
    ["experiment:make", "--iterations", "5"],
    ["--iterations", "5", "train.py", "--lr", "7"],
    ["linreg", "--iterations", "5"],
    ["mlp", "--iterations", "5", "--seed", "1"],
]


@pytest.mark.parametrize("argv", FORMS, ids=[" ".join(f) for f in FORMS])
def test_check_accepts_every_target_form_run_accepts(project, capsys, argv):
    assert cli.main(["check", *argv]) == 0
    out, err = capsys.readouterr()
    assert out.strip().endswith("in 5 iterations"), out + err
    if "train.py" in argv:
        assert "script args ['--lr', '7']" in err  # after the script: the script's own


@pytest.mark.parametrize("argv", FORMS, ids=[" ".join(f) for f in FORMS])
def test_run_and_trace_take_the_same_forms(project, capfd, argv):
    for command in (["run", "--no-tui", "--format", "jsonl"], ["trace", "--format", "jsonl"]):
        assert cli.main([*command, *argv]) == 0
        records = [json.loads(line) for line in capfd.readouterr().out.splitlines()]
        assert records and max(r["iteration"] for r in records) == 4


def test_options_after_a_factory_are_loopsteps(project, capfd):
    assert cli.main(["run", "experiment.py:make", "--no-tui", "--format", "jsonl", "--iterations", "1"]) == 0
    phases = [json.loads(line)["phase"] for line in capfd.readouterr().out.splitlines()]
    assert phases == ["forward", "loss", "backward", "step", "zero_grad"]


def test_demo_refuses_term_dumb_with_the_text_hint(capsys, monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    assert cli.main(["demo"]) == 2
    err = capsys.readouterr().err
    assert "TERM=dumb" in err and "--no-tui" in err and err.count("\n") == 1


def test_debug_takes_the_same_stop_conditions(capfd):
    import torch

    import loopstep

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    batches = [(torch.randn(4, 3), torch.randn(4, 1)) for _ in range(4)]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    status = loopstep.debug(
        model, optimizer, torch.nn.MSELoss(), batches, tui=False, fmt="jsonl", breaks=["iteration=2"]
    )
    assert status == 3  # the stop condition ended the run, as `loopstep run --no-tui --break` does
    stops = [json.loads(line) for line in capfd.readouterr().out.splitlines()]
    assert [(s["iteration"], s["phase"]) for s in stops] == [(2, "forward")]
    with pytest.raises(ValueError, match="unknown stop condition"):
        loopstep.debug(model, optimizer, torch.nn.MSELoss(), batches, tui=False, breaks=["sometimes"])
