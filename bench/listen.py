"""What ``loopstep run --listen`` costs while nobody is attached: the same script run plainly
and under ``--listen`` (no conditions; and with ``--break nan``), alternated, each timing its
own training loop in CPU time (the script and sizes are bench/run_overhead.py's).

Targets: ≤ 1.03× with nobody attached and no conditions, ≤ 1.10× with --break nan (tiny).

    python bench/listen.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_overhead  # noqa: E402 - the same script and sizes, so the figures compare

TARGETS = {"listen": 1.03, "listen --break nan": 1.10}


def run_once(script: Path, size: str, iterations: int, how: str, folder: Path) -> float:
    out = folder / "elapsed.txt"
    args = [str(script), size, str(iterations), str(out), "cpu"]
    if how == "plain":
        command = [sys.executable, *args]
    else:
        extra = ["--break", "nan"] if "nan" in how else []
        command = [sys.executable, "-m", "loopstep", "run", "--listen", *extra, *args]
    env = dict(os.environ, XDG_RUNTIME_DIR=str(folder))
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(run_overhead.ROOT / "src"), env.get("PYTHONPATH", "")] if p
    )
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return float(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        script = folder / "train.py"
        script.write_text(run_overhead.SCRIPT)
        for size, iterations, variants in (
            ("tiny", 3000, ("plain", "listen", "listen --break nan")),
            ("10M", 40, ("plain", "listen")),
        ):
            times: dict[str, list[float]] = {how: [] for how in variants}
            for _ in range(args.repeats):  # alternated, so drift hits every variant alike
                for how, seen in times.items():
                    seen.append(run_once(script, size, iterations, how, folder))
            best = {how: min(seen) for how, seen in times.items()}
            parts = [f"plain {best['plain']:.3f} s"] + [
                f"{how} {best[how]:.3f} s, ratio {best[how] / best['plain']:.3f} (target <= {TARGETS[how]})"
                for how in variants[1:]
            ]
            print(
                f"{size:>5} model, {iterations} iterations, best of {args.repeats}: " + "; ".join(parts),
                flush=True,
            )


if __name__ == "__main__":
    main()
