"""How the app feels over a terminal, as ratios against baselines measured in the same run.

1. First frame of ``loopstep demo`` against a bare Textual app (target ≤ 1.15×), both started
   in a pseudo-terminal; ``demo mlp`` shows the torch scenario's first frame does not wait for
   PyTorch.
2. Phase-step latency, key → screen updated, median and p99 over 200 steps of linreg and of
   mlp (PyTorch) under a pseudo-terminal (targets: median ≤ 16 ms, p99 ≤ 40 ms): from writing
   the key to the last byte of the update, the engine alone per phase beside it.
3. Bytes written to the terminal per phase step at 120x40 (targets: median ≤ 4 KB, max ≤ 12 KB),
   p99 among them, against the bytes of one full-screen paint of the same app.

5. With ``--attach``: the app attached to a listening run (``loopstep attach``) against the
   in-process app: step latency and command-to-first-frame (target ≤ 1.5× each).
4. With ``--watches``: the step latency with five watch expressions set against none (target
   ≤ 1.2×), runs alternated.
6. With ``--history``: the step latency with the loss chart on screen and 2,000 iterations of
   history behind it against an empty chart (target ≤ 1.1×), and the same with the grad norm
   charted (``g``); runs alternated.

Run: python bench/tui.py [--steps 200] [--repeats 5] [--watches | --attach | --history]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
WIDTH, HEIGHT = 120, 40
DEMO = [sys.executable, "-m", "loopstep", "demo"]
#: Output is considered complete after this long with no new bytes.
QUIET_S = 0.15

BARE_APP = """
from textual.app import App
from textual.widgets import Footer, Static
class Bare(App):
    def compose(self):
        yield Static("first-frame-marker")
        yield Footer()
Bare().run()
"""
#: Text on the first frame of both apps: the footer's command-palette hint, painted last.
BARE_MARKER = DEMO_MARKER = b"palette"


def spawn(
    argv: list[str], width: int = WIDTH, height: int = HEIGHT, truecolor: bool = True
) -> tuple[subprocess.Popen, int]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", PYTHONPATH=str(SRC))
    env.pop("NO_COLOR", None)
    env.pop("COLORTERM", None)
    if truecolor:  # a local terminal; over ssh COLORTERM is usually not passed on
        env["COLORTERM"] = "truecolor"
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True, close_fds=True
    )
    os.close(slave)
    return proc, master


def read_until_quiet(master: int, quiet: float = QUIET_S, first_timeout: float = 30.0) -> tuple[bytes, float]:
    """Everything the app writes until it goes quiet; returns the bytes and the last byte's time."""
    chunks: list[bytes] = []
    last = time.perf_counter()
    timeout = first_timeout
    while True:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            break
        try:
            data = os.read(master, 1 << 16)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
        last = time.perf_counter()
        timeout = quiet
    return b"".join(chunks), last


def drain(master: int, proc: subprocess.Popen) -> None:
    while proc.poll() is None:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                os.read(master, 1 << 16)
            except OSError:
                break


def first_frame(argv: list[str], marker: bytes) -> float:
    """Seconds from starting the process to the first frame being written to the terminal."""
    start = time.perf_counter()
    proc, master = spawn(argv)
    seen = b""
    try:
        while marker not in seen:
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:
                raise RuntimeError(f"no first frame from {argv}")
            seen += os.read(master, 1 << 16)
        return time.perf_counter() - start
    finally:
        proc.kill()
        proc.wait()
        os.close(master)


def median_first_frame(argv: list[str], marker: bytes, repeats: int) -> float:
    return statistics.median(first_frame(argv, marker) for _ in range(repeats))


#: Five watches of the kinds users set: numbers, a tensor's statistic, an array's mean.
WATCHES = ("L", "w", "b_grad", "w_grad * 2", "x.mean()")


def step_run(
    steps: int,
    truecolor: bool = True,
    extra: tuple[str, ...] = (),
    argv: list[str] | None = None,
    quit_key: bytes = b"q",
    first: list[float] | None = None,
    prelude: bytes = b"",
    scenario: str = "linreg",
) -> tuple[list[float], list[int], int]:
    """Step a scenario under a pty: per-step latency (s) and bytes, and the first full paint's
    bytes; ``first`` gets the seconds from the start to the first paused screen."""
    started = time.perf_counter()
    proc, master = spawn(argv or DEMO + [scenario, "--epochs", "100", *extra], truecolor=truecolor)
    try:
        paint = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the first paint, then the start pause
            data, at = read_until_quiet(master, quiet=0.3)
            paint = max(paint, len(data))
            if b"paused" in data or (paint and not data):
                if first is not None:
                    first.append(at - started)
                break
        for key in prelude:  # keys before the measured steps, each let to settle
            os.write(master, bytes([key]))
            read_until_quiet(master, quiet=1.0)
        latencies, sizes = [], []
        for _ in range(steps):
            sent = time.perf_counter()
            os.write(master, b"s")
            data, last = read_until_quiet(master)
            latencies.append(last - sent)
            sizes.append(len(data))
        os.write(master, quit_key)
        drain(master, proc)
        return latencies, sizes, paint
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


def watch_cost(steps: int, repeats: int) -> None:
    """Step latency with five watches against none, runs alternated (target ratio <= 1.2)."""
    extra = tuple(arg for w in WATCHES for arg in ("--watch", w))
    plain, watched = [], []
    for _ in range(repeats):
        plain.append(statistics.median(step_run(steps)[0]))
        watched.append(statistics.median(step_run(steps, extra=extra)[0]))
    none_ms, five_ms = statistics.median(plain) * 1000, statistics.median(watched) * 1000
    print(
        f"step latency, 5 watches vs none ({repeats} alternated runs of {steps} steps): "
        f"{five_ms:.1f} ms vs {none_ms:.1f} ms  ratio {five_ms / none_ms:.2f}x  (target <= 1.2x)"
    )


#: 250 epochs of linreg's 8 batches: a break at iteration 2000, reached with c.
HISTORY = ("--epochs", "300", "--break", "iteration=2000")


def history_cost(steps: int, repeats: int) -> None:
    """Step latency at 120x40 (every pane, the chart among them) with 2,000 iterations of
    history against an empty chart (target ratio <= 1.1), then the same with the grad norm
    charted; runs alternated, each step a phase of the run that stopped there."""
    for name, charted in (("loss", b""), ("grad norm", b"g")):
        empty, full, bytes_empty, bytes_full = [], [], [], []
        for _ in range(repeats):
            latencies, sizes, _ = step_run(steps, extra=HISTORY, prelude=charted)
            empty.append(statistics.median(latencies))
            bytes_empty.append(statistics.median(sizes))
            # ++: from the scenario's pace to as fast as the run goes, then c to the break.
            latencies, sizes, _ = step_run(steps, extra=HISTORY, prelude=charted + b"++c")
            full.append(statistics.median(latencies))
            bytes_full.append(statistics.median(sizes))
        none_ms, full_ms = statistics.median(empty) * 1000, statistics.median(full) * 1000
        print(
            f"step latency, {name} chart with 2,000 iterations vs empty ({repeats} alternated runs of "
            f"{steps} steps): {full_ms:.1f} ms vs {none_ms:.1f} ms  ratio {full_ms / none_ms:.2f}x  "
            f"(target <= 1.1x); bytes per step {statistics.median(bytes_full):.0f} vs "
            f"{statistics.median(bytes_empty):.0f}"
        )


def attach_cost(steps: int, repeats: int) -> None:
    """The attached app against the in-process one: step latency and the time from the command
    to the first frame of the paused run (target: within 1.5x), runs alternated."""
    import tempfile

    local, attached, first_local, first_attached = [], [], [], []
    with tempfile.TemporaryDirectory() as runtime:
        env = dict(os.environ, PYTHONPATH=str(SRC), XDG_RUNTIME_DIR=runtime)
        for _ in range(repeats):
            latencies, _, _ = step_run(steps, first=first_local)
            local.append(statistics.median(latencies))
            run = subprocess.Popen(
                [sys.executable, "-m", "loopstep", "run", "--listen", "--break", "iteration=0", "linreg", "--epochs", "100"],
                env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
            )  # fmt: skip
            run.stderr.readline()
            run.stderr.readline()  # "waiting for loopstep attach": the run is paused
            os.environ["XDG_RUNTIME_DIR"] = runtime
            try:
                attach = [sys.executable, "-m", "loopstep", "attach"]
                latencies, _, _ = step_run(steps, argv=attach, quit_key=b"d", first=first_attached)
                attached.append(statistics.median(latencies))
            finally:
                run.kill()
                run.wait()
    ratio = statistics.median(attached) / statistics.median(local)
    first_ratio = statistics.median(first_attached) / statistics.median(first_local)
    print(
        f"attached app vs in-process ({repeats} alternated runs): step latency median "
        f"{statistics.median(attached) * 1000:.1f} ms vs {statistics.median(local) * 1000:.1f} ms, ratio {ratio:.2f}x; "
        f"command to the paused screen {statistics.median(first_attached) * 1000:.0f} ms vs "
        f"{statistics.median(first_local) * 1000:.0f} ms, ratio {first_ratio:.2f}x  (targets <= 1.5x)"
    )


def engine_phase_time(phases: int, scenario: str = "linreg") -> float:
    """Seconds per phase of the engine alone, building a snapshot at every phase (no UI)."""
    sys.path.insert(0, str(SRC))
    from loopstep.engine import Command, Stepper
    from loopstep.scenarios import build

    count = 0

    def every_phase(snapshot, reason):
        nonlocal count
        count += 1
        return Command.STEP if count < phases else Command.QUIT

    backend = "torch" if scenario == "mlp" else "numpy"
    stepper = Stepper(build(scenario, backend, epochs=100), controller=every_phase)
    start = time.perf_counter()
    stepper.run()
    return (time.perf_counter() - start) / max(count, 1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--watches", action="store_true", help="only the cost of five watches on the step latency"
    )
    parser.add_argument(
        "--attach", action="store_true", help="only the attached app against the in-process one"
    )
    parser.add_argument(
        "--history", action="store_true", help="only the step latency with 2,000 iterations charted"
    )
    args = parser.parse_args()
    if args.history:
        history_cost(min(args.steps, 60), max(3, args.repeats // 2))
        return 0
    if args.attach:
        attach_cost(min(args.steps, 60), max(3, args.repeats // 2))
        return 0
    if args.watches:
        watch_cost(min(args.steps, 100), max(3, args.repeats // 2))
        return 0

    bare = median_first_frame([sys.executable, "-c", BARE_APP], BARE_MARKER, args.repeats)
    demo = median_first_frame(DEMO + ["linreg"], DEMO_MARKER, args.repeats)
    print(f"first frame, bare Textual app:     {bare * 1000:7.0f} ms (median of {args.repeats})")
    print(
        f"first frame, loopstep demo:        {demo * 1000:7.0f} ms  ratio {demo / bare:.2f}x  (target <= 1.15x)"
    )
    try:
        import importlib.util

        has_torch = importlib.util.find_spec("torch") is not None
    except Exception:  # noqa: BLE001
        has_torch = False
    if has_torch:
        mlp = median_first_frame(DEMO + ["mlp"], DEMO_MARKER, args.repeats)
        print(
            f"first frame, loopstep demo mlp:    {mlp * 1000:7.0f} ms  ratio {mlp / bare:.2f}x  (PyTorch loads in the worker)"
        )

    for scenario in ("linreg", "mlp") if has_torch else ("linreg",):
        step_report(scenario, args.steps)
    _, sizes_256, paint_256 = step_run(min(args.steps, 60), truecolor=False)
    median_256 = statistics.median(sizes_256)
    print(
        f"bytes per step, 256 colours (no COLORTERM, as over plain ssh): median {median_256:.0f}  "
        f"ratio to target {median_256 / 4096:.2f}x  (a full paint: {paint_256} bytes)"
    )
    return 0


def step_report(scenario: str, steps: int) -> None:
    """Step latency and bytes per step of one scenario, against the issue's targets."""
    latencies, sizes, paint = step_run(steps, scenario=scenario)
    engine = engine_phase_time(steps, scenario)
    median_ms = statistics.median(latencies) * 1000
    p99_ms = percentile(latencies, 0.99) * 1000
    print(
        f"{scenario}: step latency over {len(latencies)} steps: median {median_ms:.1f} ms  p99 {p99_ms:.1f} ms  "
        f"ratios to targets {median_ms / 16:.2f}x, {p99_ms / 40:.2f}x  (engine alone: {engine * 1000:.2f} ms/phase)"
    )
    median_bytes = statistics.median(sizes)
    print(
        f"{scenario}: bytes per step at {WIDTH}x{HEIGHT}: median {median_bytes:.0f}  p99 {percentile(sizes, 0.99):.0f}  "
        f"max {max(sizes)}  ratios to targets {median_bytes / 4096:.2f}x, {max(sizes) / 12288:.2f}x  "
        f"(a full paint: {paint} bytes, step/full {median_bytes / max(paint, 1):.2f}x)"
    )


if __name__ == "__main__":
    sys.exit(main())
