"""Instructions the recorder executes per iteration of mlp, counted by valgrind's callgrind.

Wall-clock ratios on a shared machine move by ±10 % from run to run; an instruction count
does not, so it shows whether a change to the recorder made it cheaper. Only the work
inside ``Recorder.phase`` is counted (capturing tensors, building and writing frames): the
script calls it through ``functools.reduce``, a C function nothing else in the run uses,
and callgrind counts only while that function is running. Needs valgrind.

In the run the recorder's code and data are cold: the training step in between evicts
them from the CPU's caches, and those misses cost about as much as the instructions.
``--cache`` simulates the caches too and prints the recorder's L1 instruction and data
misses per iteration (the simulation runs the whole time, so the training step's
evictions are in it).

    python bench/record_instructions.py [--epochs 4] [--cache]
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import subprocess
import sys
import tempfile


def inside() -> None:
    """The run itself, under valgrind: prints its iteration count."""
    import torch

    from loopstep.engine import Command
    from loopstep.engine.recording import record_session, writer
    from loopstep.scenarios import scenario_session

    torch.set_num_threads(1)
    phase = writer.Recorder.phase

    def counted(self, *args):
        return functools.reduce(lambda _, __: phase(self, *args), (0, 0))

    writer.Recorder.phase = counted
    with tempfile.TemporaryDirectory() as folder:
        session = scenario_session("mlp", epochs=int(os.environ["LOOPSTEP_BENCH_EPOCHS"]))
        session = record_session(session, os.path.join(folder, "run.lsr"), "small")
        stepper = session.new_stepper(controller=lambda snapshot, reason: Command.CONTINUE)
        stepper.run()
        print("iterations", stepper.last_event.iteration + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--cache", action="store_true", help="count L1 cache misses too (slower)")
    args = parser.parse_args()
    env = dict(os.environ, LOOPSTEP_BENCH_INSIDE="1", LOOPSTEP_BENCH_EPOCHS=str(args.epochs))
    env["PYTHONHASHSEED"] = "0"
    command = [
        "valgrind",
        "--tool=callgrind",
        "--collect-atstart=no",
        "--toggle-collect=functools_reduce",
        "--callgrind-out-file=/dev/null",
        *(["--cache-sim=yes"] if args.cache else []),
        sys.executable,
        __file__,
    ]
    print("running mlp under callgrind (a minute or two)...", flush=True)
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    iterations = re.search(r"iterations (\d+)", done.stdout)
    counted = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if done.returncode or not iterations or not counted:
        raise SystemExit(done.stderr[-2000:] or "valgrind did not run")
    runs = int(iterations.group(1))
    per_iteration = int(counted.group(1).replace(",", "")) / runs
    print(f"recorder: {per_iteration / 1000:,.0f} k instructions per iteration ({runs} iterations)")
    if args.cache:
        misses = {kind: re.search(rf"{kind}\s+misses:\s+([\d,]+)", done.stderr) for kind in ("I1", "D1")}
        if all(misses.values()):
            print(
                "          "
                + ", ".join(
                    f"{int(m.group(1).replace(',', '')) / runs:,.0f} {kind} misses"
                    for kind, m in misses.items()
                )
                + " per iteration"
            )


if __name__ == "__main__":
    if os.environ.get("LOOPSTEP_BENCH_INSIDE"):
        inside()
    else:
        main()
