"""A long run: 100,000 phases of linreg (NumPy) in continue mode, with RSS at start and end.

RSS is read at the first phase and after each 10,000 phases; memory that grows with the
number of phases (beyond the loss history, which holds one point per iteration by design)
shows as a steady climb. Add --record to soak the recorder too.

    python bench/soak.py [--phases 100000] [--record PATH]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

from loopstep.engine import Command
from loopstep.scenarios import scenario_session


def rss_mb() -> float:
    """Resident set size now (Linux /proc), else the peak that getrusage reports."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (2**20 if sys.platform == "darwin" else 2**10)


def history_cost_mb(points: int) -> float:
    """RSS that this many loss points take, measured by building them."""
    from loopstep.engine import LossPoint

    before = rss_mb()
    kept = [LossPoint(i, i // 8, float(i) * 0.5) for i in range(points)]
    after = rss_mb()
    del kept
    return after - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", type=int, default=100_000)
    parser.add_argument("--record", metavar="PATH", help="also record the run to PATH")
    args = parser.parse_args()

    # 41 phases per epoch (8 iterations × 5 + validate): enough epochs for the phases asked.
    epochs = args.phases // 41 + 1
    session = scenario_session("linreg", epochs=epochs)
    if args.record:
        from loopstep.engine.recording import record_session

        session = record_session(session, args.record, "small")
    marks: list[tuple[int, float]] = []
    count = 0

    def on_event(event) -> None:
        nonlocal count
        count += 1
        if count == 1 or count % 10_000 == 0:
            marks.append((count, rss_mb()))
        if count >= args.phases:
            stepper.send(Command.QUIT)

    from loopstep.engine import Listener

    stepper = session.new_stepper(Listener(on_event=on_event), controller=lambda s, r: Command.CONTINUE)
    start = time.perf_counter()
    stepper.run()
    elapsed = time.perf_counter() - start
    print(f"linreg (numpy), continue mode: {count:,} phases in {elapsed:.1f} s")
    for phases, rss in marks:
        print(f"  after {phases:>7,} phases: RSS {rss:7.1f} MB")
    first, last = marks[0][1], marks[-1][1]
    middle = marks[len(marks) // 2][1]
    print(
        f"  start RSS {first:.1f} MB, end RSS {last:.1f} MB ({last - first:+.1f} MB; second half {last - middle:+.1f} MB)"
    )
    points = len(stepper.history.train) + len(stepper.history.val)
    print(
        f"  loss history: {points:,} points; the same number of points built afresh take "
        f"{history_cost_mb(points):.1f} MB (kept by design, one per iteration)"
    )
    if args.record:
        size = os.path.getsize(args.record)
        print(f"  recording: {size / 1e6:.1f} MB, {size / max(1, count // 5):,.0f} bytes/iteration")


if __name__ == "__main__":
    main()
