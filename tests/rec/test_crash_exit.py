"""A failure of loopstep itself never exits 0: one line points at a crash report, exit 70.
A failure of the training code is the user's: its traceback, exit 1."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from loopstep import cli
from loopstep.frontend.exits import EXIT_SOFTWARE

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def crash_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state" / "loopstep" / "crashes"


def only_report(folder: Path) -> str:
    reports = list(folder.glob("crash-*.txt"))
    assert len(reports) == 1, reports
    return reports[0].read_text()


def test_a_bug_in_a_command_is_a_report_and_exit_70(capsys, crash_home, monkeypatch):
    from loopstep.commands import export

    def broken(args):
        raise KeyError("a bug in loopstep")

    monkeypatch.setattr(export, "main", broken)
    assert cli.main(["export", "x.lsr", "--csv", "-"]) == EXIT_SOFTWARE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error (KeyError: 'a bug in loopstep')" in err
    report = only_report(crash_home)
    assert "Traceback" in report and "a bug in loopstep" in report and "export x.lsr" in report


def test_a_bug_in_loopstep_while_training_in_text_mode_is_a_report_and_exit_70(
    capfd, crash_home, monkeypatch
):
    from loopstep.engine import text_format

    calls = []

    def broken(snapshot):
        calls.append(snapshot)
        if len(calls) == 3:
            raise ZeroDivisionError("the stream's formatter broke")
        return "line"

    monkeypatch.setattr(text_format, "text_line", broken)
    assert cli.main(["trace", "--iterations", "2"]) == EXIT_SOFTWARE
    err = capfd.readouterr().err
    assert "internal error" in err and "ZeroDivisionError" in err
    assert "the training code raised" not in err  # not blamed on the user
    assert "the stream's formatter broke" in only_report(crash_home)


def test_an_error_in_the_training_code_is_the_users_exit_1(capfd, tmp_path, crash_home):
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(
            """
            import torch
            model = torch.nn.Linear(2, 1)
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            for i in range(3):
                loss = model(torch.ones(4, 2)).pow(2).mean()
                loss.backward()
                if i == 1:
                    raise ValueError("the user's own bug")
                opt.step()
                opt.zero_grad()
            """
        )
    )
    assert cli.main(["run", "--no-tui", "--continue", str(script)]) == 1
    err = capfd.readouterr().err
    assert "ValueError: the user's own bug" in err and f'File "{script}"' in err
    assert "internal error" not in err and not crash_home.exists()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_a_crash_inside_the_app_exits_70_with_a_report(tmp_path):
    driver = tmp_path / "broken_app.py"
    driver.write_text(
        textwrap.dedent(
            """
            import sys
            from loopstep.ui.widgets import phase_bar

            def broken(self, event, order):
                if event is not None:
                    raise RuntimeError("a widget broke")

            phase_bar.PhaseBar.show_event = broken  # fails at the first phase drawn
            from loopstep.cli import main
            sys.exit(main(["demo"]))
            """
        )
    )
    status = tmp_path / "status"
    state = tmp_path / "state"
    command = (
        f"cd {shlex.quote(str(tmp_path))} && XDG_STATE_HOME={shlex.quote(str(state))} "
        f"PYTHONPATH={shlex.quote(str(SRC))} {shlex.quote(sys.executable)} {driver} 2>err.txt; "
        f"echo $? > {status}; sleep 30"
    )
    socket = f"crash-{os.getpid()}"

    def tmux(*args):
        return subprocess.run(
            ["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=10
        ).stdout

    tmux("new-session", "-d", "-x", "100", "-y", "30", f"sh -c {shlex.quote(command)}")
    try:
        deadline = time.monotonic() + 60
        while "paused" not in tmux("capture-pane", "-p") and time.monotonic() < deadline:
            time.sleep(0.2)
        tmux("send-keys", "s")
        while not (status.exists() and status.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        tmux("kill-server")
    assert status.read_text().strip() == str(EXIT_SOFTWARE)
    assert "a widget broke" in only_report(state / "loopstep" / "crashes")
    assert "internal error (RuntimeError: a widget broke)" in (tmp_path / "err.txt").read_text()
