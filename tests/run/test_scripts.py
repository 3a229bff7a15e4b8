"""Each realistic script under ``loopstep run --no-tui --format jsonl --iterations 5``:
the exact phases, and the same losses, grads and params as a plain run of the script."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

#: The module's tests share runs made once (a module fixture): one xdist worker takes them all,
#: or each worker would make the runs again.
pytestmark = pytest.mark.xdist_group("test_scripts")

ITERATIONS = 5
F = ["forward", "loss", "backward", "step", "zero_grad"]

#: script -> (arguments, the phases loopstep must report for 5 iterations)
SCRIPTS = {
    "plain_loop": ([], F * 3 + ["validate"] + F * 2),
    "zero_grad_first": (["--epochs", "2", "--lr", "0.05"], ["zero_grad"] + F * ITERATIONS),
    "functional_loss": ([], F * ITERATIONS),
    "handwritten_loss": ([], F * ITERATIONS),
    "model_zero_grad": ([], ["zero_grad"] + F * ITERATIONS),
    "dataloader_workers": ([], F * ITERATIONS),
    "grad_accumulation": (
        [],
        (["forward", "loss", "backward"] * 3 + ["clip", "step", "zero_grad"]) * ITERATIONS,
    ),
    "two_optimizers": (
        [],
        ["forward", "loss", "backward", "step", "step", "zero_grad", "zero_grad"] * ITERATIONS,
    ),
    "raises": ([], F * 3 + ["forward"]),
    "autocast_cpu": ([], F * ITERATIONS),
}


@pytest.fixture(scope="module")
def runs(project_root, loopstep_env, tmp_path_factory):
    """All runs at once: one plain process for every script, one loopstep process per script."""
    scripts = project_root / "tests" / "scripts"
    records = tmp_path_factory.mktemp("records")
    plain_args = []
    for name, (args, _) in SCRIPTS.items():
        plain_args += ["--", str(scripts / f"{name}.py"), *args]
    plain = subprocess.Popen(
        [
            sys.executable,
            str(project_root / "tests" / "run" / "plain_runner.py"),
            str(records),
            *plain_args[1:],
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=loopstep_env,
    )
    procs = {}
    for name, (args, _) in SCRIPTS.items():
        command = ["run", "--no-tui", "--format", "jsonl", "--iterations", str(ITERATIONS)]
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "loopstep", *command, str(scripts / f"{name}.py"), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=loopstep_env,
        )
    results = {name: (proc.returncode, *proc.communicate(timeout=180)) for name, proc in procs.items()}
    results = {name: (procs[name].returncode, out, err) for name, (_, out, err) in results.items()}
    plain.communicate(timeout=180)
    return results, records


def _records(folder: Path, name: str) -> list[dict]:
    path = folder / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _norms(entry: dict) -> dict:
    return {name: (None if value is None else value["norm"]) for name, value in entry.items()}


def _assert_norms_match(seen: list[dict], expected: list[dict]) -> None:
    assert len(seen) == len(expected)
    for got, want in zip(seen, expected):
        assert got.keys() == want.keys()
        for name in got:
            if want[name] is None:
                assert got[name] is None, name
            else:
                assert got[name] == pytest.approx(want[name], rel=1e-5, abs=1e-7), name


@pytest.mark.parametrize("name", SCRIPTS)
def test_phases_and_numbers_match_a_plain_run(runs, name):
    results, record_dir = runs
    code, out, err = results[name]
    events = [json.loads(line) for line in out.splitlines()]  # every line is one whole JSON object
    assert [e["phase"] for e in events] == SCRIPTS[name][1], err
    assert code == (1 if name == "raises" else 0), err

    records = _records(record_dir, name)
    losses = [e["loss"] for e in events if e["phase"] == "loss"]
    plain_losses = [r["value"] for r in records if r["kind"] == "loss"][: len(losses)]
    assert losses == pytest.approx(plain_losses, rel=1e-6)
    grads = [_norms(e["grads"]) for e in events if e["phase"] == "backward"]
    _assert_norms_match(grads, [r["norms"] for r in records if r["kind"] == "grads"][: len(grads)])
    params = [_norms(e["params"]) for e in events if e["phase"] == "step"]
    _assert_norms_match(params, [r["norms"] for r in records if r["kind"] == "params"][: len(params)])
    vals = [e["val_loss"] for e in events if e["phase"] == "validate"]
    assert vals == pytest.approx([r["value"] for r in records if r["kind"] == "val"][: len(vals)], rel=1e-6)

    # The iteration counts optimizer steps; every phase points at a line of the script.
    steps = [e for e in events if e["phase"] == "step"]
    per_iteration = len(steps) // max(len({e["iteration"] for e in steps}), 1)
    assert [e["iteration"] for e in steps] == [i // per_iteration for i in range(len(steps))]
    assert all(e["location"].split(":")[0].endswith(f"{name}.py") for e in events)


def test_iteration_boundaries(runs):
    results, _ = runs
    events = [json.loads(line) for line in results["zero_grad_first"][1].splitlines()]
    # The first zero_grad is in iteration 0; the one after each step still belongs to the stepped iteration.
    zero_grads = [e["iteration"] for e in events if e["phase"] == "zero_grad"]
    assert zero_grads == [0, 0, 1, 2, 3, 4]
    forwards = [e["iteration"] for e in events if e["phase"] == "forward"]
    assert forwards == [0, 1, 2, 3, 4]


def test_validation_and_epochs(runs):
    results, _ = runs
    events = [json.loads(line) for line in results["plain_loop"][1].splitlines()]
    validate = next(e for e in events if e["phase"] == "validate")
    assert (validate["epoch"], validate["iteration"], validate["model_mode"], validate["grad_enabled"]) == (
        0,
        2,
        "eval",
        False,
    )
    after = events[events.index(validate) + 1]
    assert (after["phase"], after["epoch"], after["batch"], after["iteration"]) == ("forward", 1, 0, 3)
    assert [e["batch"] for e in events if e["phase"] == "forward"] == [0, 1, 2, 0, 1]


def test_which_optimizer_stepped(runs):
    results, _ = runs
    events = [json.loads(line) for line in results["two_optimizers"][1].splitlines()]
    details = [e["detail"] for e in events if e["phase"] == "step"][:2]
    assert details == ["body (SGD)", "head (Adam)"]  # the script's own names for them


def test_script_output_goes_to_stderr(runs):
    results, _ = runs
    _, out, err = results["plain_loop"]
    assert "epoch 0: val" in err and "epoch 0" not in out
    assert "step 0 step 1" in results["functional_loss"][2]


def test_error_shows_the_users_traceback(runs):
    _, out, err = runs[0]["raises"]
    assert "RuntimeError: labels out of range at iteration 3" in err
    assert "raises.py" in err and "runpy" not in err
    assert err.strip().splitlines()[-1].startswith("loopstep: the training code raised RuntimeError")
