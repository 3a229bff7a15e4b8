"""export --csv matches what the run printed; text output stays plain under NO_COLOR and TERM=dumb."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys

import pytest

from .conftest import run_cli

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "src"))


@pytest.mark.parametrize("scenario", [["linreg", "--epochs", "2"], ["mlp", "--iterations", "20"]])
def test_csv_rows_match_the_live_run(tmp_path, capsys, scenario):
    path = tmp_path / "run.lsr"
    status, live, _ = run_cli(capsys, ["trace", *scenario, "--format", "jsonl", "--record", str(path)])
    assert status == 0
    records = [json.loads(line) for line in live.splitlines()]
    out = tmp_path / "losses.csv"
    status, _, err = run_cli(capsys, ["export", str(path), "--csv", str(out)])
    assert status == 0 and "iterations written" in err
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    iterations = sorted({r["iteration"] for r in records})
    assert [int(r["iteration"]) for r in rows] == iterations
    for row in rows:
        i = int(row["iteration"])
        loss = next(r["loss"] for r in records if r["iteration"] == i and r["phase"] == "loss")
        assert float(row["loss"]) == pytest.approx(loss)
        backward = next(r for r in records if r["iteration"] == i and r["phase"] == "backward")
        norm = math.sqrt(sum(g["norm"] ** 2 for g in backward["grads"].values() if g is not None))
        assert float(row["grad_norm"]) == pytest.approx(norm, rel=1e-5)
        val = [r.get("val_loss") for r in records if r["iteration"] == i and r["phase"] == "validate"]
        assert (float(row["val_loss"]) if row["val_loss"] else None) == (
            pytest.approx(val[0]) if val else None
        )


def test_csv_to_stdout(capsys, linreg_recording):
    status, out, _ = run_cli(capsys, ["export", linreg_recording, "--csv", "-"])
    lines = out.splitlines()
    header = "iteration,epoch,batch,loss,val_loss,grad_norm,grad_norm[w],grad_norm[b],lr,update_ratio"
    assert status == 0 and lines[0] == header
    assert len(lines) == 1 + 16  # 2 epochs of 8 batches


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_csv_metrics_are_the_ones_the_live_run_measured(tmp_path, capsys, backend):
    """Each parameter's gradient norm, the lr and the update ratio: as the app charts them live."""
    from loopstep.engine import Command
    from loopstep.scenarios.base import scenario_session

    path, out = tmp_path / "run.lsr", tmp_path / "run.csv"
    status, _, _ = run_cli(
        capsys, ["trace", "linreg", "--backend", backend, "--epochs", "1", "--record", str(path)]
    )
    assert status == 0
    status, _, _ = run_cli(capsys, ["export", str(path), "--csv", str(out)])
    assert status == 0
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))

    def dense(snapshot, reason):
        stepper.metrics.dense = stepper.metrics.updates_wanted = True
        return Command.CONTINUE

    stepper = scenario_session("linreg", backend, epochs=1).new_stepper(controller=dense)
    stepper.run()
    live = stepper.metrics.series
    params = [column for column in rows[0] if column.startswith("grad_norm[")]
    assert len(params) == 2 and sorted(params) == sorted(n for n in live if n.startswith("grad_norm["))
    assert len(rows) == len(live["lr"]) == 8
    for i, row in enumerate(rows):
        assert int(row["iteration"]) == live["lr"][i].iteration == i
        for column in params:
            assert float(row[column]) == pytest.approx(live[column][i].value, rel=1e-5)
        assert float(row["lr"]) == live["lr"][i].value == 0.1
    ratios = {p.iteration: p.value for p in live["update_ratio"]}
    assert ratios  # torch: from the step after it was asked for
    for row in rows:
        if int(row["iteration"]) in ratios:
            assert float(row["update_ratio"]) == pytest.approx(ratios[int(row["iteration"])], rel=1e-5)


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"TERM": "dumb"}])
def test_text_mode_is_plain_under_no_color_and_dumb_terminals(tmp_path, env, linreg_recording):
    environment = dict(os.environ, PYTHONPATH=SRC, **env)
    for argv in (["trace", "--iterations", "2"], ["replay", linreg_recording, "--no-tui"]):
        result = subprocess.run(
            [sys.executable, "-m", "loopstep", *argv],
            capture_output=True,
            text=True,
            env=environment,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "\x1b" not in result.stdout + result.stderr
        assert "forward" in result.stdout
