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
    assert status == 0 and lines[0] == "iteration,epoch,batch,loss,val_loss,grad_norm"
    assert len(lines) == 1 + 16  # 2 epochs of 8 batches


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
