"""The app attached to a listening run, in a real terminal (tmux): step it, lose the terminal,
attach again to the same pause, detach or end the run. Skipped where tmux is not installed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from tests.remote.test_listen_attach import PATIENCE_S, listening, plain_final_line, runs_listed, wait_until
from tests.terminal import Tmux

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def test_a_lost_terminal_leaves_the_pause_for_the_next_attach_and_q_can_end_the_run(runs_home):
    run, pid = listening()
    try:
        first = Tmux(80, 24, ("attach", str(pid)))
        first.wait_for(r"paused.*(iter 1|i1)")
        first.keys("s")
        first.wait_for(r"▶ loss ◀")
        first.close()  # the terminal is gone, the attach with it: no detach was said
        [listed] = wait_until(lambda: [r for r in runs_listed() if not r["attached"]], "the drop to be seen")
        assert listed["state"] == "paused at loss iter 1"
        second = Tmux(120, 40, ("attach",))
        try:
            shown = second.wait_for(r"▶ loss ◀")
            assert "after loss" in shown and "iter 1" in shown  # the same pause
            second.keys("!")
            second.wait_for("read-only")
            second.keys("-l", "loss.item() > 0")
            second.keys("Enter")
            second.wait_for(r"› loss.item\(\) > 0[\s┃]*True")
            second.keys("Escape")
            second.wait_for(r"\A(?![\s\S]*read-only)")
            second.keys("q")
            second.wait_for("end the run")
            second.keys("e")
            out, err = run.communicate(timeout=PATIENCE_S)
        finally:
            second.close()
        assert run.returncode == 0, err
        assert "after 2 steps" in out  # ended at iteration 1 (counted from 0), its finally block ran
    finally:
        if run.poll() is None:
            run.kill()


def test_d_detaches_and_the_run_ends_as_a_plain_one(runs_home):
    run, pid = listening()
    try:
        app = Tmux(80, 24, ("attach",))
        try:
            app.wait_for(r"paused.*(iter 1|i1)")
            app.keys("n")
            app.wait_for(r"▶ zero_grad ◀")
            app.keys("d")
            out, err = run.communicate(timeout=PATIENCE_S)
        finally:
            app.close()
        assert run.returncode == 0, err
        assert out.strip() == plain_final_line()
    finally:
        if run.poll() is None:
            run.kill()


def test_attach_without_a_terminal_is_one_line_and_exit_2(runs_home):
    run, pid = listening()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "loopstep", "attach", str(pid)], capture_output=True, text=True
        )
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--no-tui" in done.stderr
        [listed] = runs_listed()
        assert listed["pid"] == pid and not listed["attached"]  # still there, nobody attached
    finally:
        run.kill()
        run.communicate(timeout=PATIENCE_S)


def test_a_client_killed_while_the_app_starts_leaves_the_run_free_for_the_next_attach(runs_home):
    """The terminal goes away in the first second (the app still starting on the run's side):
    the run is marked not attached again, and the next attach gets the same pause."""
    import os
    import pty

    run, pid = listening()
    try:
        child, master = pty.fork()
        if child == 0:  # the client, on a terminal of its own
            os.execv(sys.executable, [sys.executable, "-m", "loopstep", "attach", str(pid)])
        seen = b""
        while b"paused" not in seen:
            seen += os.read(master, 1 << 16)
        os.kill(child, 9)
        os.waitpid(child, 0)
        os.close(master)
        [listed] = wait_until(lambda: [r for r in runs_listed() if not r["attached"]], "the app to close")
        assert listed["state"].startswith("paused at forward iter 1")
        again = subprocess.run(
            [sys.executable, "-m", "loopstep", "attach", "--no-tui", "--format", "jsonl", "--iterations", "1"],
            capture_output=True, text=True, timeout=PATIENCE_S,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout.splitlines()[0])["phase"] == "forward"
    finally:
        run.kill()
        run.communicate(timeout=PATIENCE_S)


def test_with_several_runs_the_attach_lists_them_and_opens_the_one_picked(runs_home):
    first, first_pid = listening()
    second, second_pid = listening("--watch", "step * 10")
    try:
        app = Tmux(120, 40, ("attach",))
        try:
            app.wait_for(rf"1\. +{first_pid} [\s\S]*2\. +{second_pid} [\s\S]*attach to which run")
            app.keys("2", "Enter")
            app.wait_for(r"paused.*iter 1")
            [picked] = [r for r in runs_listed() if r["attached"]]
            assert picked["pid"] == second_pid
            app.keys("d")
            second.communicate(timeout=PATIENCE_S)
        finally:
            app.close()
        assert second.returncode == 0
        assert [r["pid"] for r in runs_listed()] == [first_pid]  # the other run still waits
    finally:
        for run in (first, second):
            if run.poll() is None:
                run.kill()
                run.communicate()
