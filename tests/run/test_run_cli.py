"""``loopstep run`` as a user meets it: bad input, module:factory, --output, loopstep.debug, Ctrl+C."""

import json
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from loopstep import cli

FACTORY = """
    import torch
    from torch import nn
    import loopstep

    def make():
        torch.manual_seed(0)
        model = nn.Linear(2, 1)
        x, y = torch.randn(12, 2), torch.randn(12, 1)
        batches = [(x[i : i + 4], y[i : i + 4]) for i in range(0, 12, 4)]
        return loopstep.Experiment(
            model, torch.optim.SGD(model.parameters(), lr=0.1), nn.MSELoss(), batches, val_data=batches[:1], epochs=2
        )

    def not_an_experiment():
        return 42

    broken = 3
"""


def _usage_error(capsys, *argv: str) -> str:
    assert cli.main(list(argv)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_bad_targets_are_one_line_usage_errors(capsys, tmp_path):
    assert "no such file: nope.py" in _usage_error(capsys, "run", "--no-tui", "nope.py")
    broken = tmp_path / "broken.py"
    broken.write_text("for x in range(3)\n    pass\n")
    assert f"{broken}:1: syntax error" in _usage_error(capsys, "run", "--no-tui", str(broken))
    assert "cannot import no_such_module" in _usage_error(capsys, "run", "--no-tui", "no_such_module:make")
    factory = tmp_path / "exp.py"
    factory.write_text(textwrap.dedent(FACTORY))
    assert "has no 'missing'" in _usage_error(capsys, "run", "--no-tui", f"{factory}:missing")
    assert "is not callable" in _usage_error(capsys, "run", "--no-tui", f"{factory}:broken")
    assert "returned int, not loopstep.Experiment" in _usage_error(
        capsys, "run", "--no-tui", f"{factory}:not_an_experiment"
    )
    assert "--format goes with --no-tui" in _usage_error(
        capsys, "run", "--format", "jsonl", f"{factory}:make"
    )


def test_module_factory_runs_the_owned_loop(capfd, tmp_path):
    factory = tmp_path / "exp.py"
    factory.write_text(textwrap.dedent(FACTORY))
    assert cli.main(["run", "--no-tui", "--format", "jsonl", f"{factory}:make"]) == 0
    events = [json.loads(line) for line in capfd.readouterr().out.splitlines()]
    phases = [e["phase"] for e in events]
    assert phases == (["forward", "loss", "backward", "step", "zero_grad"] * 3 + ["validate"]) * 2
    assert events[-1]["iteration"] == 5 and events[-1]["epoch"] == 1


def test_output_file_and_text_format(capfd, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            import torch
            model = torch.nn.Linear(2, 1)
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            print("args", sys.argv[1:])
            for _ in range(3):
                model(torch.ones(4, 2)).pow(2).mean().backward()
                opt.step()
                opt.zero_grad()
            """
        )
    )
    out = tmp_path / "phases.txt"
    assert cli.main(["run", "--no-tui", "--output", str(out), str(script), "--flag", "x"]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].split()[:4] == ["epoch", "batch", "iter", "phase"]
    assert [line.split()[3] for line in lines[1:]] == ["forward", "loss", "backward", "step", "zero_grad"] * 3
    assert "args ['--flag', 'x']" in capfd.readouterr().out  # with --output, stdout stays the script's


def test_continue_prints_only_the_final_state(capfd, tmp_path):
    script = tmp_path / "train.py"
    script.write_text("import torch\nm = torch.nn.Linear(2, 1)\nm(torch.ones(1, 2)).sum().backward()\n")
    assert cli.main(["run", "--no-tui", "--continue", "--format", "jsonl", str(script)]) == 0
    lines = capfd.readouterr().out.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["phase"] == "backward"


def test_debug_entry_point(capfd):
    import torch

    import loopstep

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    batches = [(torch.randn(4, 3), torch.randn(4, 1)) for _ in range(2)]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    status = loopstep.debug(
        model, optimizer, torch.nn.MSELoss(), batches, val_loader=batches, tui=False, fmt="jsonl"
    )
    assert status == 0
    phases = [json.loads(line)["phase"] for line in capfd.readouterr().out.splitlines()]
    assert phases == ["forward", "loss", "backward", "step", "zero_grad"] * 2 + ["validate"]


def test_importing_loopstep_does_not_import_torch(loopstep_env):
    code = "import sys, loopstep; loopstep.Experiment; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], env=loopstep_env, check=True, timeout=60)


def test_ctrl_c_ends_the_run_cleanly(loopstep_env, tmp_path):
    script = tmp_path / "forever.py"
    marker = tmp_path / "finally.txt"
    script.write_text(
        textwrap.dedent(
            f"""
            import torch
            model = torch.nn.Linear(2, 1)
            opt = torch.optim.SGD(model.parameters(), lr=0.01)
            print("ready", flush=True)
            try:
                while True:
                    model(torch.ones(4, 2)).pow(2).mean().backward()
                    opt.step()
                    opt.zero_grad()
            finally:
                open({str(marker)!r}, "w").write("cleaned up")
            """
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopstep", "run", "--no-tui", "--continue", str(script)],
        env=loopstep_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr.readline().strip() == "ready"  # the script's prints go to stderr
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert marker.read_text() == "cleaned up"


@pytest.mark.parametrize("argv", [["run", "--help"]])
def test_help_names_both_kinds_of_target(capsys, argv):
    with pytest.raises(SystemExit):
        cli.main(argv)
    out = capsys.readouterr().out
    assert "module:factory" in out and "--no-tui" in out


def test_break_prints_only_the_stops_and_on_stop_continue_goes_on(capfd, project_root):
    script = project_root / "tests" / "scripts" / "plain_loop.py"
    argv = ["run", "--no-tui", "--format", "jsonl", "--break", "phase=validate", "--on-stop", "continue"]
    assert cli.main([*argv, str(script)]) == 0
    stops = [json.loads(line) for line in capfd.readouterr().out.splitlines()]
    assert [(s["phase"], s["epoch"]) for s in stops] == [("validate", 0), ("validate", 1), ("validate", 2)]
    assert all(s["lr"] == pytest.approx(0.01) for s in stops)  # the script's own learning rate


def test_a_stop_condition_ends_a_text_run_there_with_status_3(capfd, tmp_path):
    """The stop is printed with its reason, the script's finally blocks run, exit 3."""
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(
            """
            import torch
            model = torch.nn.Linear(2, 1)
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            try:
                for i in range(50):
                    x = torch.ones(4, 2) * (float("nan") if i == 3 else 1.0)
                    model(x).pow(2).mean().backward()
                    opt.step()
                    opt.zero_grad()
                    print("done", i, flush=True)
            finally:
                print("finally ran", flush=True)
            """
        )
    )
    assert cli.main(["run", "--no-tui", "--format", "jsonl", "--break", "nan", str(script)]) == 3
    captured = capfd.readouterr()
    stops = [json.loads(line) for line in captured.out.splitlines()]
    # The stream sleeps between stops: the NaN is seen where the sentinels look, at the loss.
    assert len(stops) == 1 and stops[0]["iteration"] == 3 and stops[0]["phase"] == "loss"
    assert stops[0]["reason"] == "break: loss is nan"
    assert "finally ran" in captured.err and "done 3" not in captured.err
    assert "stopped at a stop condition" in captured.err
