"""The scripts shaped like real trainers (tests/scripts), what each must report, and the
runs the tests compare: a plain run that records what the script computed, a run under
``loopstep run --record``, and the replay of that recording."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

F, L, B, C, S, U, Z, V = "forward", "loss", "backward", "clip", "step", "update", "zero_grad", "validate"


def _gan() -> list[str]:
    out = []
    for _epoch in range(2):
        for i in range(3):
            out += [Z, F, L, B, F, F, L, B, S]  # the discriminator on real, then fake data
            out += [Z, F, L, B, S]  # the generator, through the discriminator
            out += [V] if i % 2 == 0 else []  # samples from fixed noise, under no_grad
    return out


def _gpt() -> list[str]:
    out = []
    for iteration in range(7):
        out += [V, V] if iteration % 3 == 0 else []  # estimate_loss: the train split, then val
        out += [F, L, B] * 4 + [C, S, Z]
    return out


def _manual_sgd() -> list[str]:
    out = []
    for _epoch in range(3):
        for _batch in range(4):
            out += [Z, F, L, B, C, U]
        out += [V]
    return out


def _lbfgs() -> list[str]:
    return ([Z, F, L, B] * 3 + [S, V]) * 4


def _plain(iterations: int) -> list[str]:
    return [Z, F, L, B, S] * iterations


def _backbone_head() -> list[str]:
    return ([Z, F, F, L, B, S] * 3 + [V]) * 2


#: script -> the phases loopstep reports over the whole run, in order.
SCRIPTS: dict[str, list[str]] = {
    "gan": _gan(),
    "gpt_accum": _gpt(),
    "manual_sgd_clip": _manual_sgd(),
    "lbfgs_closure": _lbfgs(),
    "save_midrun": _plain(6),
    "sched_warmup": _plain(8),
    "backbone_head": _backbone_head(),
    "prefetch_loader": _plain(8),
}

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "tests" / "scripts"


def run_all(env: dict, work: Path, scripts: dict = SCRIPTS) -> dict:
    """Every script plainly (one process) and under loopstep (one process each, at once),
    then each recording replayed. Returns {name: {"live", "replay", "records", ...}}."""
    records = work / "records"
    records.mkdir()
    plain_args: list[str] = []
    for name in scripts:
        plain_args += ["--", str(FOLDER / f"{name}.py")]
    plain = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "run" / "plain_runner.py"), str(records), *plain_args[1:]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    live = {}
    for name in scripts:
        command = ["run", "--no-tui", "--format", "jsonl", "--record", str(work / f"{name}.rec")]
        command += ["--record-tensors", "all", str(FOLDER / f"{name}.py")]
        live[name] = subprocess.Popen(
            [sys.executable, "-m", "loopstep", *command],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=FOLDER,
        )  # fmt: skip
    out = {}
    for name, proc in live.items():
        stdout, stderr = proc.communicate(timeout=240)
        out[name] = {"status": proc.returncode, "live": stdout, "stderr": stderr}
    plain_out, plain_err = plain.communicate(timeout=240)
    replays = {
        name: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "loopstep",
                "replay",
                str(work / f"{name}.rec"),
                "--no-tui",
                "--format",
                "jsonl",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )  # fmt: skip
        for name in scripts
    }
    for name, proc in replays.items():
        stdout, stderr = proc.communicate(timeout=240)
        out[name].update(replay=stdout, replay_status=proc.returncode, replay_stderr=stderr)
        path = records / f"{name}.jsonl"
        out[name]["records"] = [json.loads(line) for line in path.read_text().splitlines()]
        out[name]["plain_stdout"] = plain_out
    out["_plain_stderr"] = plain_err
    return out


def events(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def kind(records: list[dict], what: str) -> list:
    return [r for r in records if r["kind"] == what]


def line_of(script: str, code: str, after: str = "") -> int:
    """The number of the first line of a test script that starts with ``code`` (past its
    indentation), after the first line that contains ``after``."""
    lines = (FOLDER / f"{script}.py").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    for number, line in enumerate(lines[start:], start=start + 1):
        if line.lstrip().startswith(code):
            return number
    raise AssertionError(f"{code!r} is not in {script}.py")


def _check(env: dict, path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "loopstep", "check", "--format", "jsonl", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=path.parent,
    )  # fmt: skip


def check_all(env: dict, work: Path, scripts, planted: dict) -> dict:
    """``loopstep check`` on each script as written, and on a copy of a script with a bug
    planted (``planted``: label -> (script, text, replacement, ...)), all at once. Returns
    {name or label: (status, findings, stderr)}."""
    shutil.copy(FOLDER / "_record.py", work / "_record.py")
    procs = {name: _check(env, FOLDER / f"{name}.py") for name in scripts}
    for label, (script, old, new, *_) in planted.items():
        text = (FOLDER / f"{script}.py").read_text()
        assert old in text, label
        path = work / f"planted_{len(procs)}.py"
        path.write_text(text.replace(old, new, 1))
        procs[label] = _check(env, path)
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        out[name] = (proc.returncode, [json.loads(line) for line in stdout.splitlines()], stderr)
    return out


def batches_seen(run: dict) -> tuple[list, list]:
    """The (epoch, batch) each run of forwards was at, and the script's own positions: every
    forward of one batch (a GAN's four, a backbone and its head) counts once."""
    forwards = [(e["epoch"], e["batch"]) for e in events(run["live"]) if e["phase"] == "forward"]
    seen = [pair for i, pair in enumerate(forwards) if i == 0 or pair != forwards[i - 1]]
    return seen, [(r["epoch"], r["batch"]) for r in kind(run["records"], "position")]


def assert_replay_is_live(run: dict, name: str) -> None:
    """The replay of a run's recording prints the stream the live run printed."""
    assert run["replay_status"] == 0, run["replay_stderr"]
    live, replay = events(run["live"]), events(run["replay"])
    assert len(replay) == len(live)
    for index, (a, b) in enumerate(zip(live, replay)):
        assert_same(a, b, f"{name} phase {index} ({a['phase']})")


def assert_same(live, replayed, where: str) -> None:
    """Equal, floats to float32 rounding (a recording keeps a parameter's own dtype)."""
    if isinstance(live, dict):
        assert isinstance(replayed, dict) and live.keys() == replayed.keys(), (where, live, replayed)
        for key in live:
            assert_same(live[key], replayed[key], f"{where}.{key}")
    elif isinstance(live, list):
        assert isinstance(replayed, list) and len(live) == len(replayed), (where, live, replayed)
        for index, (a, b) in enumerate(zip(live, replayed)):
            assert_same(a, b, f"{where}[{index}]")
    elif isinstance(live, float) and isinstance(replayed, float):
        assert replayed == pytest.approx(live, rel=1e-5, abs=1e-7, nan_ok=True), where
    else:
        assert live == replayed, where
